// Barrier: indices, action, timeouts, abort/reset breaking waiters, and 5 parties × 1,000 rounds in lockstep.
import assert from 'node:assert/strict';
import { BrokenBarrierError } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { barrierRounds, barrierWaitOnce, barrierWithAction, barrierWithActionSync, countAction, countActionByModule } from '../fixtures/sync/targets.js';
import { ACTION_SUM, BROKEN, OUTCOME, PASSED, RAN_IN_CHILD, arriveLast, arriveLastFromQueue, logAction } from '../fixtures/sync/barrier-action.js';
import { assertTimed, runWorkers, timed, timedAsync } from '../fixtures/sync/run.js';
import { until } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Barrier, Pool, Process, Queue, RawValue, Semaphore, SharedArray } = ctx;

const T = { timeout: 120_000 };

test('misuse: Barrier(0), a non-integer party count, a non-function action', () => {
  assert.throws(() => new Barrier(0), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_BARRIER_PARTIES' && /parties must be an integer > 0/.test(e.message));
  assert.throws(() => new Barrier(-2), RangeError);
  assert.throws(() => new Barrier(1.5), RangeError);
  assert.throws(() => new Barrier(2, { action: 5 as unknown as () => void }), TypeError);
});

test('a one-party barrier passes at once, runs its action each time, and reports its state', async () => {
  let calls = 0;
  const b = new Barrier(1, { action: () => calls++ });
  assert.equal(b.parties, 1);
  assert.equal(b.wait(), 0);
  assert.equal(await b.waitAsync(), 0);
  assert.equal(calls, 2);
  assert.equal(b.nWaiting, 0);
  assert.equal(b.broken, false);
});

test('a timed-out wait breaks the barrier within bounds; reset mends it', async () => {
  const b = new Barrier(2);
  const [error, ms] = timed(() => {
    try {
      b.wait(100);
      return undefined;
    } catch (e) {
      return e;
    }
  });
  assert.ok(error instanceof BrokenBarrierError);
  assert.equal((error as BrokenBarrierError).code, 'ERR_MP_BROKEN_BARRIER');
  assert.match((error as Error).message, /wait timed out/);
  assertTimed(ms, 100);
  assert.equal(b.broken, true);
  assert.throws(() => b.wait(), (e: Error) => e instanceof BrokenBarrierError && /wait timed out/.test(e.message));
  b.reset();
  assert.equal(b.broken, false);
  const withDefault = new Barrier(2, { timeout: 80 });
  const [rejected, msa] = await timedAsync(() => withDefault.waitAsync().then(() => undefined, (e: unknown) => e));
  assert.ok(rejected instanceof BrokenBarrierError);
  assertTimed(msa, 80);
});

test('abort breaks the barrier for everyone until reset', () => {
  const b = new Barrier(3);
  b.abort();
  assert.equal(b.broken, true);
  assert.equal(b.nWaiting, 0);
  assert.throws(() => b.wait(10), (e: Error) => e instanceof BrokenBarrierError && /abort\(\) was called/.test(e.message));
  b.reset();
  assert.equal(b.broken, false);
});

test('an action that throws breaks the barrier: the last waiter gets its error', () => {
  const b = new Barrier(1, {
    action: () => {
      throw new RangeError('action failed');
    },
  });
  assert.throws(() => b.wait(), /action failed/);
  assert.equal(b.broken, true);
  assert.throws(() => b.wait(), (e: Error) => e instanceof BrokenBarrierError && /its action threw/.test(e.message));
});

test('5 parties run 1,000 rounds in lockstep across workers', T, async () => {
  const parties = 5;
  const barrier = new Barrier(parties);
  const progress = new SharedArray('i', parties, { lock: false });
  const violations = new RawValue('i', 0);
  const codes = await runWorkers(
    barrierRounds,
    Array.from({ length: parties }, (_, me) => [barrier, progress, me, 1_000, violations]),
  );
  assert.deepEqual(codes, [0, 0, 0, 0, 0]);
  assert.equal(violations.value, 0);
  assert.deepEqual([...progress], [1000, 1000, 1000, 1000, 1000]);
  assert.equal(barrier.broken, false);
});

for (const how of ['abort', 'reset'] as const) {
  for (const mode of ['blocking', 'async'] as const) {
    test(`${how}() breaks workers waiting on the barrier (${mode}) with BrokenBarrierError`, T, async () => {
      const barrier = new Barrier(4);
      const out = new SharedArray('i', 3, { lock: false });
      const started = new Semaphore(0);
      const run = runWorkers(barrierWaitOnce, [0, 1, 2].map((me) => [barrier, out, me, started, mode === 'async']));
      for (let i = 0; i < 3; i++) assert.ok(await started.acquireAsync(20_000));
      await until('all three are inside wait()', () => barrier.nWaiting === 3, 20_000);
      barrier[how]();
      assert.deepEqual(await run, [0, 0, 0]);
      assert.deepEqual([...out], [1, 1, 1]);
      assert.equal(barrier.broken, how === 'abort');
    });
  }
}

test('wait returns each arrival index once per round', T, async () => {
  const barrier = new Barrier(3);
  const started = new Semaphore(0);
  const out = new SharedArray('i', 2, { lock: false });
  const run = runWorkers(barrierWaitOnce, [0, 1].map((me) => [barrier, out, me, started]));
  const index = await barrier.waitAsync(20_000);
  assert.deepEqual(await run, [0, 0]);
  assert.deepEqual([...out], [2, 2]);
  assert.ok(index >= 0 && index < 3);
});

test('the action crosses into workers and runs once per round in the last to arrive', T, async () => {
  const counter = new RawValue('i', 0);
  const barrier = new Barrier(3, { action: countAction });
  const codes = await runWorkers(barrierWithAction, [[barrier, counter, 50], [barrier, counter, 50], [barrier, counter, 50]]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(counter.value, 50);
});

test('a self-contained action works with the blocking wait() in workers too', T, async () => {
  const counter = new RawValue('i', 0);
  const barrier = new Barrier(3, { action: countAction });
  const codes = await runWorkers(barrierWithActionSync, [[barrier, counter, 50], [barrier, counter, 50], [barrier, counter, 50]]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(counter.value, 50);
});

test('an action that needs its module crosses by reference: waitAsync waits for it to load', T, async () => {
  const counter = new RawValue('i', 0);
  const barrier = new Barrier(3, { action: countActionByModule });
  const codes = await runWorkers(barrierWithAction, [[barrier, counter, 30], [barrier, counter, 30], [barrier, counter, 30]]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(counter.value, 30);
});

test('the main thread can be the last to arrive and run the action for workers', T, async () => {
  const g = globalThis as { __barrierCalls?: number };
  g.__barrierCalls = 0;
  const barrier = new Barrier(3, { action: () => void (globalThis as { __barrierCalls?: number }).__barrierCalls!++ });
  const started = new Semaphore(0);
  const out = new SharedArray('i', 2, { lock: false });
  const run = runWorkers(barrierWaitOnce, [0, 1].map((me) => [barrier, out, me, started]));
  for (let i = 0; i < 2; i++) assert.ok(await started.acquireAsync(20_000));
  await until('both workers are inside wait()', () => barrier.nWaiting === 2, 20_000);
  assert.equal(barrier.wait(20_000), 2);
  assert.equal(g.__barrierCalls, 1);
  assert.deepEqual(await run, [0, 0]);
  assert.deepEqual([...out], [2, 2]);
});

test('a barrier whose action is a closure cannot cross into a worker: start() throws, naming the variable', () => {
  let calls = 0;
  const barrier = new Barrier(2, { action: () => calls++ });
  const p = new Process({ target: barrierWaitOnce as (b: mp.Barrier) => void, args: [barrier] });
  assert.throws(() => p.start(), (e: Error) => e instanceof TypeError && /Barrier action/.test(e.message) && /'calls'/.test(e.message));
  assert.equal(calls, 0);
});

// A trial: `Barrier(n, { action })` with an action exported from a module (it uses an import and a module
// constant) broke whenever a child arrived last with the blocking wait(), even a 1-party barrier in a
// pool task, since the child had not loaded the action yet. Python's `b.wait()` everywhere just works.
test('an action that needs its module runs with the blocking wait() in a pool task', T, async () => {
  const log = new SharedArray('i', 3, { lock: false });
  const pool = new Pool(1);
  try {
    assert.equal(await pool.apply(arriveLast, [new Barrier(1, { action: logAction }), log]), 0);
    assert.equal(await pool.apply(arriveLast, [new Barrier(1, { action: logAction }), log]), 0);
  } finally {
    await pool.terminate();
  }
  assert.deepEqual([...log], [20, 1, PASSED]);
});

test('an action that needs its module runs with the blocking wait() in a Process that arrives last', T, async () => {
  const log = new SharedArray('i', 3, { lock: false });
  const barrier = new Barrier(2, { action: logAction });
  const p = new Process({ target: arriveLast, args: [barrier, log] });
  p.start();
  try {
    assert.equal(barrier.wait(20_000), 0); // the child waits until this thread waits, then arrives last
  } finally {
    await p.join(20_000);
  }
  assert.equal(p.exitCode, 0);
  assert.deepEqual([log[ACTION_SUM], log[RAN_IN_CHILD], log[OUTCOME]], [10, 1, PASSED]);
});

test('a barrier read from a queue by a blocking get() still breaks if its action is loading; every party is told why', T, async () => {
  const log = new SharedArray('i', 3, { lock: false });
  const barrier = new Barrier(2, { action: logAction });
  const q = new Queue<mp.Barrier>();
  q.put(barrier);
  const p = new Process({ target: arriveLastFromQueue, args: [q, log] });
  p.start();
  try {
    assert.throws(
      () => barrier.wait(20_000),
      (e: Error) => e instanceof BrokenBarrierError && /action was still loading in the party that arrived last/.test(e.message) && /waitAsync/.test(e.message),
    );
  } finally {
    await p.join(20_000);
  }
  assert.equal(p.exitCode, 0);
  assert.deepEqual([log[ACTION_SUM], log[OUTCOME]], [0, BROKEN]);
  assert.throws(() => barrier.wait(), /action was still loading/);
});
