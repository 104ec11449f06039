// Condition: wait/notify with either lock kind, misuse, timeouts, and a 10,000-round ping-pong.
import assert from 'node:assert/strict';
import type * as mp from '../../src/index.js';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { incrementWithLock, pingPong } from '../fixtures/sync/targets.js';
import { assertTimed, runWorkers, timed, timedAsync } from '../fixtures/sync/run.js';
import { stillPending } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Condition, Lock, RawValue, RLock } = ctx;

const T = { timeout: 120_000 };

test('default lock is an RLock; a given Lock or RLock is used; anything else throws', () => {
  assert.ok(new Condition().lock instanceof RLock);
  const lock = new Lock();
  assert.equal(new Condition(lock).lock, lock);
  assert.throws(() => new Condition({} as mp.Lock), TypeError);
});

test('wait, waitFor, notify without holding the lock throw (Python\'s words)', async () => {
  for (const cond of [new Condition(), new Condition(new Lock())]) {
    assert.throws(() => cond.wait(10), (e: Error & { code?: string }) => e.message === 'must acquire() condition before using wait()' && e.code === 'ERR_MP_CONDITION_NOT_ACQUIRED');
    await assert.rejects(cond.waitAsync(10), /must acquire\(\) condition before using wait\(\)/);
    assert.throws(() => cond.waitFor(() => true), /must acquire/);
    assert.throws(() => cond.notify(), /lock is not owned/);
    assert.throws(() => cond.notifyAll(), /lock is not owned/);
  }
});

test('timed wait returns false within bounds and keeps the lock; waitFor returns the predicate', async () => {
  const cond = new Condition();
  cond.acquire();
  const [r, ms] = timed(() => cond.wait(100));
  assert.equal(r, false);
  assertTimed(ms, 100);
  assert.ok(cond.lock.locked());
  const [ra, msa] = await timedAsync(() => cond.waitAsync(100));
  assert.equal(ra, false);
  assertTimed(msa, 100);
  assert.equal(cond.waitFor(() => 'ready'), 'ready');
  const [f, msf] = timed(() => cond.waitFor(() => 0, 120));
  assert.equal(f, 0);
  assertTimed(msf, 120);
  assert.equal(await cond.waitForAsync(async () => 3), 3);
  cond.notify(); // nobody waits: a no-op
  cond.notifyAll();
  cond.release();
  assert.equal(cond.lock.locked(), false);
});

test('wait releases every recursion level of an RLock and restores them', async () => {
  const cond = new Condition();
  cond.acquire();
  cond.acquire();
  cond.acquire();
  const woken = cond.waitAsync(5000);
  assert.ok(await stillPending(woken), 'waitAsync waits for a notify');
  // While waitAsync waits, the lock must be free, even though it was taken three times.
  assert.equal(cond.lock.acquire(false), true);
  cond.notify();
  cond.lock.release();
  assert.equal(await woken, true);
  cond.release();
  cond.release();
  assert.ok(cond.lock.locked(), 'two levels remain after two releases');
  cond.release();
  assert.equal(cond.lock.locked(), false);
});

test('a Condition works as a lock across workers', T, async () => {
  const cond = new Condition(new Lock());
  const counter = new RawValue('i', 0);
  assert.deepEqual(await runWorkers(incrementWithLock, [[counter, cond, 20_000], [counter, cond, 20_000]]), [0, 0]);
  assert.equal(counter.value, 40_000);
});

for (const [label, makeLock] of [['RLock', () => new RLock()], ['Lock', () => new Lock()]] as const) {
  test(`ping-pong of 10,000 rounds between two workers loses no wakeup (${label})`, T, async () => {
    const cond = new Condition(makeLock());
    const turn = new RawValue('i', 0);
    const lost = new RawValue('i', 0);
    const codes = await runWorkers(pingPong, [[cond, turn, lost, 0, 10_000], [cond, turn, lost, 1, 10_000]]);
    assert.deepEqual(codes, [0, 0]);
    assert.equal(lost.value, 0, 'a wait slept its whole timeout while its predicate was already true');
    assert.equal(turn.value, 0);
  });
}

test('ping-pong with the async forms, 2,000 rounds, loses no wakeup', T, async () => {
  const cond = new Condition();
  const turn = new RawValue('i', 0);
  const lost = new RawValue('i', 0);
  const codes = await runWorkers(pingPong, [[cond, turn, lost, 0, 2_000, true], [cond, turn, lost, 1, 2_000, true]]);
  assert.deepEqual(codes, [0, 0]);
  assert.equal(lost.value, 0);
});

test('ping-pong between the main thread (blocking waits) and a worker', T, async () => {
  const cond = new Condition();
  const turn = new RawValue('i', 0);
  const lost = new RawValue('i', 0);
  const run = runWorkers(pingPong, [[cond, turn, lost, 1, 1_000]]);
  // The worker starts with no help from this thread, which blocks in its waits from here on.
  pingPong(cond, turn, lost, 0, 1_000);
  assert.deepEqual(await run, [0]);
  assert.equal(lost.value, 0);
});
