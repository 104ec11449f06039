// Lock: acquire/release, timeouts, scoped forms, misuse, and exact counts across workers.
import assert from 'node:assert/strict';
import { TimeoutError } from '../../src/index.js';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { holdUntil, incrementWithLock, releaseLock } from '../fixtures/sync/targets.js';
import { assertTimed, runWorkers, timed, timedAsync } from '../fixtures/sync/run.js';
import { stillPending } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Event, Lock, RawValue } = ctx;

const T = { timeout: 60_000 };

test('acquire/release/locked; not recursive; non-blocking and timed acquire', () => {
  const lock = new Lock();
  assert.equal(lock.locked(), false);
  assert.equal(lock.acquire(), true);
  assert.equal(lock.locked(), true);
  assert.equal(lock.acquire(false), false);
  const [got, ms] = timed(() => lock.acquire(true, 100));
  assert.equal(got, false);
  assertTimed(ms, 100);
  assert.equal(lock.acquire(true, -5), false, 'a negative timeout is 0');
  lock.release();
  assert.equal(lock.locked(), false);
  assert.equal(lock.acquire(false), true);
  lock.release();
});

test('release of an unlocked Lock throws with Python\'s words and a code', () => {
  const lock = new Lock();
  assert.throws(
    () => lock.release(),
    (e: Error & { code?: string }) => e.constructor === Error && e.code === 'ERR_MP_LOCK_NOT_HELD' && /^semaphore or lock released too many times/.test(e.message),
  );
  lock.acquire();
  lock.release();
  assert.throws(() => lock.release(), /released too many times/);
});

test('guard, guardAsync, withLock, withLockAsync release on throw', async () => {
  const lock = new Lock();
  {
    using _ = lock.guard();
    assert.ok(lock.locked());
  }
  assert.equal(lock.locked(), false);
  assert.throws(() =>
    lock.withLock(() => {
      throw new RangeError('boom');
    }), RangeError);
  assert.equal(lock.locked(), false);
  await assert.rejects(
    lock.withLockAsync(async () => {
      throw new RangeError('boom');
    }),
    RangeError,
  );
  assert.equal(lock.locked(), false);
  assert.equal(lock.withLock(() => 5), 5);
  assert.equal(await lock.withLockAsync(async () => 6), 6);
  {
    using _ = await lock.guardAsync();
    assert.ok(lock.locked());
    assert.throws(() => lock.guard(20), TimeoutError);
    await assert.rejects(lock.guardAsync(20), TimeoutError);
  }
  assert.equal(lock.locked(), false);
});

test('acquireAsync waits without blocking the event loop, and times out within bounds', T, async () => {
  const lock = new Lock();
  lock.acquire();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const [got, ms] = await timedAsync(() => lock.acquireAsync(150));
  clearInterval(timer);
  assert.equal(got, false);
  assertTimed(ms, 150);
  assert.ok(ticks > 3, 'the event loop ran while waiting');
  const acquired = lock.acquireAsync(5000);
  assert.ok(await stillPending(acquired), 'acquireAsync waits while the lock is held');
  lock.release();
  assert.equal(await acquired, true);
  lock.release();
});

test('N workers × M increments under a Lock give an exact count', T, async () => {
  const lock = new Lock();
  const counter = new RawValue('i', 0);
  const codes = await runWorkers(incrementWithLock, [[counter, lock, 50_000], [counter, lock, 50_000], [counter, lock, 50_000], [counter, lock, 50_000]]);
  assert.deepEqual(codes, [0, 0, 0, 0]);
  assert.equal(counter.value, 200_000);
});

test('a worker holding the lock blocks the main thread\'s acquire until it releases; another thread may release', T, async () => {
  const lock = new Lock();
  const held = new Event();
  const release = new Event();
  const run = runWorkers(holdUntil, [[lock, held, release]]);
  assert.ok(await held.waitAsync(20_000));
  assert.ok(lock.locked());
  assert.equal(lock.acquire(true, 50), false);
  release.set();
  assert.equal(await lock.acquireAsync(20_000), true);
  assert.deepEqual(await run, [0]);
  // Python allows any process to release a Lock.
  assert.deepEqual(await runWorkers(releaseLock, [[lock]]), [0]);
  assert.equal(lock.locked(), false);
});
