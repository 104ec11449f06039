// RLock: recursion, ownership, misuse (also from another worker), exact counts across workers.
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { holdUntil, incrementWithLock, releaseForeignRLock } from '../fixtures/sync/targets.js';
import { assertTimed, runWorkers, timed } from '../fixtures/sync/run.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Event, RawArray, RawValue, RLock } = ctx;

const T = { timeout: 60_000 };

test('the owner may acquire again; it is free after as many releases', async () => {
  const lock = new RLock();
  assert.ok(lock.acquire());
  assert.ok(lock.acquire(false));
  assert.ok(await lock.acquireAsync());
  lock.release();
  lock.release();
  assert.ok(lock.locked());
  lock.release();
  assert.equal(lock.locked(), false);
  lock.withLock(() => lock.withLock(() => assert.ok(lock.locked())));
  assert.equal(lock.locked(), false);
});

test('release by a thread that does not own it throws (Python\'s words)', () => {
  const lock = new RLock();
  assert.throws(
    () => lock.release(),
    // A misused state is a plain Error (README's table of Python's names), not TypeError or RangeError.
    (e: Error & { code?: string }) => e.constructor === Error && e.code === 'ERR_MP_RLOCK_NOT_OWNED' && /^attempt to release recursive lock not owned by thread/.test(e.message),
  );
});

test('release from another worker throws there, and the lock stays held', T, async () => {
  const lock = new RLock();
  lock.acquire();
  const out = new RawArray('c', 256);
  assert.deepEqual(await runWorkers(releaseForeignRLock, [[lock, out]]), [0]);
  assert.match(out.value, /^ERR_MP_RLOCK_NOT_OWNED: attempt to release recursive lock not owned by thread/);
  assert.ok(lock.locked());
  lock.release();
});

test('a worker\'s hold blocks the main thread; a timed acquire returns false within bounds', T, async () => {
  const lock = new RLock();
  const held = new Event();
  const release = new Event();
  const run = runWorkers(holdUntil, [[lock, held, release]]);
  assert.ok(await held.waitAsync(20_000));
  const [got, ms] = timed(() => lock.acquire(true, 100));
  assert.equal(got, false);
  assertTimed(ms, 100);
  release.set();
  assert.ok(await lock.acquireAsync(20_000));
  lock.release();
  assert.deepEqual(await run, [0]);
});

test('N workers × M increments under an RLock give an exact count', T, async () => {
  const lock = new RLock();
  const counter = new RawValue('i', 0);
  const codes = await runWorkers(incrementWithLock, [[counter, lock, 50_000], [counter, lock, 50_000], [counter, lock, 50_000]]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(counter.value, 150_000);
});
