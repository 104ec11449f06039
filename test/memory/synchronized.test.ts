// The lock methods Value and Array share (memory/synchronized.ts, CPython's Synchronized): the same
// behaviour on both, in this thread and in workers.
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import assert from 'node:assert/strict';
import { guardedIncrements, guardedIncrementsAsync } from '../fixtures/memory/synchronized.js';
import { runWorkers } from '../fixtures/sync/run.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();
const { SharedArray, Lock, RawArray, RawValue, RLock, Value } = ctx;

const T = { timeout: 60_000 };

test('using _ = x.guard() on a Value and an Array excludes the other workers: exact counts', T, async () => {
  const v = new Value('i', 0);
  const a = new SharedArray('i', 3);
  const codes = await runWorkers(guardedIncrements, [[v, a, 20_000], [v, a, 20_000], [v, a, 20_000]]);
  assert.deepEqual(codes, [0, 0, 0]);
  assert.equal(v.value, 60_000);
  assert.deepEqual([...a], [60_000, 60_000, 60_000]);
});

test('using _ = await x.guardAsync() too, with the main thread taking part', T, async () => {
  const v = new Value('i', 0);
  const a = new SharedArray('i', 2);
  const [codes] = await Promise.all([
    runWorkers(guardedIncrementsAsync, [[v, a, 5_000], [v, a, 5_000]]),
    guardedIncrementsAsync(v, a, 5_000),
  ]);
  assert.deepEqual(codes, [0, 0]);
  assert.equal(v.value, 15_000);
  assert.deepEqual([...a], [15_000, 15_000]);
});

test('each forwards to the object\'s own lock, on Value and Array alike', () => {
  const lock = new Lock();
  for (const x of [new Value('i', 0, { lock }), new SharedArray('i', 2, { lock })]) {
    assert.equal(x.getLock(), lock);
    {
      using _ = x.guard();
      assert.equal(lock.locked(), true);
      assert.equal(x.acquire(false), false); // a Lock is not recursive
    }
    assert.equal(lock.locked(), false);
    assert.equal(x.acquire(), true);
    x.release();
    assert.equal(x.withLock(() => lock.locked()), true);
    assert.equal(lock.locked(), false);
  }
  assert.ok(new Value('i').getLock() instanceof RLock);
  assert.ok(new SharedArray('d', 1).getLock() instanceof RLock);
});

test('no lock: the lock methods throw ERR_MP_NO_LOCK naming the class', () => {
  const cases: [{ getLock(): unknown; guard(): Disposable; acquire(): boolean }, string][] = [
    [new Value('i', 0, { lock: false }), 'Value'],
    [new SharedArray('i', 1, { lock: false }), 'Array'],
    [new RawArray('i', 1), 'Array'],
  ];
  for (const [x, what] of cases) {
    const noLock = (e: Error & { code?: string }): boolean => e.code === 'ERR_MP_NO_LOCK' && e.message.startsWith(`this ${what} was created with { lock: false }`);
    assert.throws(() => x.getLock(), noLock);
    assert.throws(() => x.guard(), noLock);
    assert.throws(() => x.acquire(), noLock);
  }
});

test('the lock is not an element or a key: spreads, keys and deepEqual see only the data', () => {
  const a = new SharedArray('i', [1, 2]);
  assert.deepEqual(Object.keys(a), ['0', '1']);
  assert.deepEqual({ ...a }, { 0: 1, 1: 2 });
  assert.deepEqual(Object.keys(new Value('i', 5)), Object.keys(new RawValue('i', 5)));
  assert.deepEqual(new Value('i', 5), new Value('i', 5));
});
