// What a pool worker's exit means for the tasks it held (workers.ts), judged without a thread:
// start failures and the broken pool, the claim word (or exit report) that saves the tasks behind the
// running one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workers, type PoolWorker } from '../../src/pool/workers.js';
import { freshSlot, type Entry } from '../../src/pool/dispatch.js';
import { ClaimCursor, Claims } from '../../src/pool/claims.js';
import { TaskMode } from '../../src/pool/protocol.js';
import { WorkerLostError } from '../../src/errors.js';

function workers(): Workers {
  return new Workers(
    { initializer: null, initargs: { value: [], live: false }, startMethod: 'thread', minProcesses: 1, idleTimeout: Infinity },
    { ready() {}, done() {}, exited() {} },
  );
}

// A worker record whose thread is never used by the verdict.
function worker(state: Partial<PoolWorker>): PoolWorker {
  return { ...freshSlot(), child: undefined as never, started: true, stopped: [], ...state };
}

function entries(count: number, transferFrom = Infinity): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    key: i + 1,
    queuedAt: 0,
    fnId: 0,
    exclusive: false,
    bytes: 0,
    done: false,
    seq: 0,
    waited: false,
    task: {
      fn: { by: 'source', expression: '() => 0', name: 'f' },
      mode: TaskMode.Apply,
      data: [],
      live: false,
      transfer: i + 1 >= transferFrom ? [new ArrayBuffer(8)] : undefined,
      onResult() {},
      onError() {},
    },
  }));
}

const ids = (list: readonly Entry[]): number[] => list.map((entry) => entry.id);

test('a worker that dies before it is ready: its tasks go back; the third such death in a row breaks the pool', () => {
  const w = workers();
  const initError = new Error('initializer failed');
  const first = w.judgeExit(worker({ started: false }), 1, entries(2), true);
  assert.deepEqual([ids(first.retry), ids(first.lost), first.broken], [[1, 2], [], undefined]);
  assert.equal(w.judgeExit(worker({ started: false }), 1, [], true).broken, undefined);
  const third = w.judgeExit(worker({ started: false, initError }), 1, entries(2), true);
  assert.deepEqual([ids(third.retry), ids(third.lost)], [[1, 2], []]);
  assert.equal(third.broken, initError);
});

test('without an initializer error, the broken pool says the workers keep exiting, with the exit code', () => {
  const w = workers();
  for (let i = 0; i < 2; i++) w.judgeExit(worker({ started: false }), 7, [], true);
  const broken = w.judgeExit(worker({ started: false }), 7, [], true).broken;
  assert.ok(broken instanceof WorkerLostError);
  assert.equal(broken.exitCode, 7);
  assert.match(broken.message, /keep exiting \(code 7\)/);
});

test('a worker stopped on purpose before it was ready is not a start failure', () => {
  const w = workers();
  for (let i = 0; i < 5; i++) assert.equal(w.judgeExit(worker({ started: false, leaving: true }), 1, [], true).broken, undefined);
});

test('a running worker that dies without a report loses every task it held', () => {
  const verdict = workers().judgeExit(worker({}), 1, entries(3), true);
  assert.deepEqual([ids(verdict.retry), ids(verdict.lost)], [[], [1, 2, 3]]);
});

test('with an exit report, only the running task is lost; the ones behind it go back, unless their buffers moved', () => {
  const w = workers();
  const report = worker({ exitReport: { running: [2] } });
  const verdict = w.judgeExit(report, 0, entries(5, 4), true);
  assert.deepEqual([ids(verdict.retry), ids(verdict.lost)], [[1, 3], [2, 4, 5]]);
  const idle = w.judgeExit(worker({ exitReport: { running: [] } }), 0, entries(2), true);
  assert.deepEqual([ids(idle.retry), ids(idle.lost)], [[1, 2], []]);
});

test('with a claim word, whatever the exit: the tasks it claimed are lost, the ones behind go back unless their buffers moved', () => {
  const buffer = new SharedArrayBuffer(4);
  const claims = new Claims(buffer);
  const held = entries(6, 5);
  for (const entry of held) entry.seq = claims.next();
  const cursor = new ClaimCursor(buffer);
  cursor.claim();
  cursor.claim();
  // The word outweighs a report (and serves where none came: a signal).
  const verdict = workers().judgeExit(worker({ claims, exitReport: { running: [] } }), -9, held.slice(1), true);
  assert.deepEqual([ids(verdict.retry), ids(verdict.lost)], [[3, 4], [2, 5, 6]]);
});

test('once the pool no longer serves (terminated, broken), the report saves nothing', () => {
  const verdict = workers().judgeExit(worker({ exitReport: { running: [1] } }), 0, entries(3), false);
  assert.deepEqual([ids(verdict.retry), ids(verdict.lost)], [[], [1, 2, 3]]);
});

test('a lost task’s error names the exit code and the worker’s last error as its cause', () => {
  const w = workers();
  const cause = new RangeError('out of memory');
  const error = w.lostError(worker({ lastError: cause }), 1);
  assert.ok(error instanceof WorkerLostError);
  assert.equal(error.exitCode, 1);
  assert.equal(error.cause, cause);
  assert.match(error.message, /exited \(code 1\) before it finished: out of memory/);
  assert.equal(w.lostError(worker({}), 3).cause, undefined);
});
