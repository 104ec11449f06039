// Semaphore and BoundedSemaphore: counting, timeouts, misuse, never more holders than the value.
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { incrementWithLock, semaphoreWorker } from '../fixtures/sync/targets.js';
import { assertTimed, runWorkers, timed, timedAsync } from '../fixtures/sync/run.js';
import { stillPending, within } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { BoundedSemaphore, RawValue, Semaphore, SharedArray } = ctx;

const T = { timeout: 60_000 };

test('counts down and up; getValue; blocks at 0 until the timeout', async () => {
  const sem = new Semaphore(2);
  assert.equal(sem.getValue(), 2);
  assert.ok(sem.acquire());
  assert.ok(sem.acquire(false));
  assert.equal(sem.getValue(), 0);
  assert.ok(sem.locked());
  assert.equal(sem.acquire(false), false);
  const [got, ms] = timed(() => sem.acquire(true, 80));
  assert.equal(got, false);
  assertTimed(ms, 80);
  const [gotAsync, msAsync] = await timedAsync(() => sem.acquireAsync(80));
  assert.equal(gotAsync, false);
  assertTimed(msAsync, 80);
  sem.release();
  sem.release();
  sem.release(); // a plain Semaphore may go above its initial value
  assert.equal(sem.getValue(), 3);
  assert.equal(new Semaphore().getValue(), 1);
  assert.equal(new Semaphore(0).getValue(), 0);
});

test('acquireAsync wakes on a release', T, async () => {
  const sem = new Semaphore(0);
  const acquired = sem.acquireAsync(10_000);
  assert.ok(await stillPending(acquired), 'acquireAsync waits while the value is 0');
  sem.release();
  assert.equal(await within(acquired, 'acquireAsync after the release'), true);
  assert.equal(sem.getValue(), 0);
});

test('misuse: Semaphore(-1), a non-integer value, over-releasing a BoundedSemaphore', () => {
  assert.throws(() => new Semaphore(-1), (e: Error & { code?: string }) => e instanceof RangeError && e.message === 'semaphore initial value must be >= 0' && e.code === 'ERR_MP_SEMAPHORE_VALUE');
  assert.throws(() => new BoundedSemaphore(-1), RangeError);
  assert.throws(() => new Semaphore(1.5), TypeError);
  const b = new BoundedSemaphore(2);
  assert.throws(() => b.release(), (e: Error & { code?: string }) => e.constructor === Error && e.code === 'ERR_MP_SEMAPHORE_OVER_RELEASED' && /^semaphore or lock released too many times/.test(e.message));
  b.acquire();
  b.release();
  assert.throws(() => b.release(), /released too many times/);
  assert.equal(b.getValue(), 2);
});

test('scoped forms release on throw', async () => {
  const sem = new BoundedSemaphore(1);
  assert.throws(() => sem.withLock(() => { throw new Error('x'); }), /x/);
  assert.equal(sem.getValue(), 1);
  {
    using _ = sem.guard();
    assert.equal(sem.getValue(), 0);
  }
  await sem.withLockAsync(async () => assert.equal(sem.getValue(), 0));
  assert.equal(sem.getValue(), 1);
});

test('a semaphore across 4 workers never admits more than its value, and every entry happens', T, async () => {
  for (const Kind of [Semaphore, BoundedSemaphore]) {
    const sem = new Kind(2);
    const stats = new SharedArray('i', 3, { lock: false }); // inside, max inside, total entries
    const codes = await runWorkers(semaphoreWorker, [[sem, stats, 5_000], [sem, stats, 5_000], [sem, stats, 5_000], [sem, stats, 5_000]]);
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal(stats[0], 0);
    assert.ok(stats[1] >= 1 && stats[1] <= 2, `max inside was ${stats[1]}`);
    assert.equal(stats[2], 20_000);
    assert.equal(sem.getValue(), 2);
  }
});

test('a Semaphore(1) as a lock: N workers × M increments are exact', T, async () => {
  const sem = new BoundedSemaphore(1);
  const counter = new RawValue('i', 0);
  assert.deepEqual(await runWorkers(incrementWithLock, [[counter, sem, 30_000], [counter, sem, 30_000], [counter, sem, 30_000]]), [0, 0, 0]);
  assert.equal(counter.value, 90_000);
});
