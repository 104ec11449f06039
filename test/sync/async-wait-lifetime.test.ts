// A pending async wait alone does not keep the program alive; whoever could end it does (issue 10).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { abandonGet } from '../fixtures/sync/targets.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Process, Queue } = ctx;

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/sync/${name}`, import.meta.url));
const T = { timeout: 60_000 };

test('a script that abandons pending async waits (Promise.race with a timer) exits by itself', T, async () => {
  const r = await runTs(fixture('race-exit.ts'), [], 30_000);
  assert.equal(r.signal, null, `still running after 30 s; output so far:\n${r.stdout}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'Queue.getAsync timer',
    'Queue.putAsync timer',
    'SimpleQueue.getAsync timer',
    'JoinableQueue.joinAsync timer',
    'Connection.recvAsync timer',
    'Lock.acquireAsync timer',
    'Semaphore.acquireAsync timer',
    'Event.waitAsync timer',
    'Condition.waitAsync timer',
    'Barrier.waitAsync timer',
    'end of script',
  ]);
});

test('a child whose target abandons a pending getAsync ends when its target returns', T, async () => {
  const p = new Process({ target: abandonGet, args: [new Queue()] });
  p.start();
  await p.join(20_000);
  assert.equal(p.isAlive(), false, 'the abandoned wait kept the child alive');
  assert.equal(p.exitCode, 0);
});

test('a script whose only work is waits that a live child or a busy pool ends runs until they settle', T, async () => {
  const r = await runTs(fixture('alive-while-child.ts'), [], 30_000);
  assert.equal(r.signal, null, `still running after 30 s; output so far:\n${r.stdout}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['held by the child true', 'acquired true', 'got from the pool', 'end of script']);
});

test('timed async waits keep the program alive until they time out, as timers do', T, async () => {
  const r = await runTs(fixture('async-wait-alive.ts'), [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['event false', 'lock false', 'semaphore false', 'condition false']);
});
