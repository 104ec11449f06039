// Value and RawValue: typecodes, checks, locks, crossing into workers, and the tutorial's race.
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { incrementUnlocked, incrementValue, incrementValueAsync, incrementValueNested } from '../fixtures/sync/targets.js';
import { runWorkers } from '../fixtures/sync/run.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Barrier, Lock, RawValue, RLock, Value } = ctx;

const T = { timeout: 60_000 };

test('every typecode and alias reads back what was written, with Python semantics', () => {
  const cases: [string, unknown, unknown][] = [
    ['b', -5, -5],
    ['B', 250, 250],
    ['h', -300, -300],
    ['H', 65535, 65535],
    ['i', -123456, -123456],
    ['I', 4000000000, 4000000000],
    ['l', -(2n ** 40n), -(2n ** 40n)],
    ['L', 2n ** 63n, 2n ** 63n],
    ['q', -(2n ** 62n), -(2n ** 62n)],
    ['Q', 2n ** 64n - 1n, 2n ** 64n - 1n],
    ['f', 1.5, 1.5],
    ['d', Math.PI, Math.PI],
    ['c', 'x', 'x'],
    ['u', 'é', 'é'],
    ['?', true, true],
    ['int8', -1, -1],
    ['uint8', 255, 255],
    ['int16', -2, -2],
    ['uint16', 2, 2],
    ['int32', -3, -3],
    ['uint32', 3, 3],
    ['int64', 4n, 4n],
    ['uint64', 5n, 5n],
    ['float32', 0.25, 0.25],
    ['float64', 0.1, 0.1],
    ['bool', false, false],
  ];
  for (const [code, input, expected] of cases) {
    const v = new Value(code as 'i', input as number);
    assert.equal(v.value, expected, code);
    assert.equal(v.typecode, code);
    const r = new RawValue(code as 'i');
    r.value = input as number;
    assert.equal(r.value, expected, `RawValue ${code}`);
  }
});

test('defaults: 0, 0n, false, NUL; n.value += 1 works', () => {
  assert.equal(new Value('d').value, 0);
  assert.equal(new Value('q').value, 0n);
  assert.equal(new Value('?').value, false);
  assert.equal(new Value('c').value, '\0');
  const n = new Value('d', 0.0);
  n.value += 1;
  assert.equal(n.value, 1);
  const big = new Value('q', 2n ** 53n);
  big.value += 1n;
  assert.equal(big.value, 2n ** 53n + 1n);
  assert.equal(String(new Value('i', 7)), "Value('i', 7)");
});

test('integers wrap like ctypes; f rounds to float32', () => {
  assert.equal(new Value('b', 130).value, -126);
  assert.equal(new Value('f', 0.1).value, Math.fround(0.1));
});

test('misuse: bad typecode (Python\'s words), float into an integer typecode, number into a 64-bit one', () => {
  assert.throws(() => new Value('x' as 'i', 0), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_TYPECODE' && /^bad typecode 'x' \(must be one of b B h H i/.test(e.message));
  assert.throws(() => new Value('i', 1.5), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_VALUE_KIND' && /typecode 'i' needs an integer/.test(e.message));
  assert.throws(() => new Value('q', 5 as unknown as bigint), (e: Error) => e instanceof TypeError && /pass 5n or BigInt\(5\)/.test(e.message));
  assert.throws(() => new Value('d', '1' as unknown as number), TypeError);
  assert.throws(() => new Value('c', 'ab'), TypeError);
  const v = new Value('i', 0);
  assert.throws(() => {
    v.value = 2.5;
  }, TypeError);
  const q = new Value('q', 0n);
  assert.throws(() => {
    q.value = 1 as unknown as bigint;
  }, TypeError);
  assert.equal(v.value, 0);
});

test('lock option: default RLock, a given Lock/RLock, false (getLock throws)', () => {
  const v = new Value('i', 0);
  assert.ok(v.getLock() instanceof RLock);
  const lock = new Lock();
  assert.equal(new Value('i', 0, { lock }).getLock(), lock);
  const rlock = new RLock();
  assert.equal(new Value('i', 0, { lock: rlock }).getLock(), rlock);
  const bare = new Value('i', 0, { lock: false });
  assert.throws(() => bare.getLock(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NO_LOCK' && /lock: false/.test(e.message));
  assert.throws(() => new Value('i', 0, { lock: 'yes' as unknown as boolean }), TypeError);
  assert.equal((new RawValue('i', 1) as unknown as { getLock?: unknown }).getLock, undefined);
});

test('the default lock is re-entrant: getLock() held, then withLock/guard inside does not deadlock', () => {
  const v = new Value('i', 0);
  using _ = v.getLock().guard();
  v.withLock(() => {
    v.value += 1;
  });
  {
    using _inner = v.guard();
    v.value += 1;
  }
  assert.equal(v.value, 2);
  assert.ok(v.acquire());
  v.release();
});

test('getObj() is a RawValue over the same memory; acquire/release delegate to the lock', async () => {
  const v = new Value('i', 1);
  const raw = v.getObj();
  assert.ok(raw instanceof RawValue);
  raw.value = 42;
  assert.equal(v.value, 42);
  assert.ok(v.acquire());
  assert.ok(v.getLock().locked());
  v.release();
  assert.equal(v.getLock().locked(), false);
  assert.ok(await v.acquireAsync(100));
  v.release();
  assert.equal(await v.withLockAsync(async () => v.value), 42);
  {
    using _ = await v.guardAsync();
    assert.ok(v.getLock().locked());
  }
  assert.equal(v.getLock().locked(), false);
});

test('N workers × M increments under the value\'s RLock give an exact count', T, async () => {
  const v = new Value('i', 0);
  const codes = await runWorkers(incrementValue, [[v, 50_000], [v, 50_000], [v, 50_000], [v, 50_000]]);
  assert.deepEqual(codes, [0, 0, 0, 0]);
  assert.equal(v.value, 200_000);
});

test('re-entrant and async increments across workers are exact too', T, async () => {
  const v = new Value('i', 0);
  const codes = await runWorkers(incrementValueNested, [[v, 20_000], [v, 20_000]]);
  const codes2 = await runWorkers(incrementValueAsync, [[v, 5_000], [v, 5_000]]);
  assert.deepEqual([...codes, ...codes2], [0, 0, 0, 0]);
  assert.equal(v.value, 50_000);
});

test('a 64-bit Value and a RawValue cross into workers live', T, async () => {
  const v = new Value('q', 10n);
  const raw = new RawValue('d', 0.5);
  const { setValues } = await import('../fixtures/sync/targets-memory.js');
  assert.deepEqual(await runWorkers(setValues, [[{ nested: [v, raw] }]]), [0]);
  assert.equal(v.value, 11n);
  assert.equal(raw.value, 1.5);
});

test('the tutorial race: two workers incrementing an unlocked Value lose updates; with the lock, exact', T, async () => {
  // Losing at least one update out of 2 × 2,000,000 unlocked increments is near-certain when both
  // run at once; retry a few times so a scheduler that serialises the two workers cannot flake this.
  const n = 2_000_000;
  let lost = 0;
  for (let attempt = 0; attempt < 5 && lost === 0; attempt++) {
    const v = new Value('i', 0);
    const start = new Barrier(2);
    assert.deepEqual(await runWorkers(incrementUnlocked, [[v, start, n], [v, start, n]]), [0, 0]);
    lost = 2 * n - v.value;
    assert.ok(lost >= 0);
  }
  assert.ok(lost > 0, 'unlocked increments lost no update in 5 attempts');
  const locked = new Value('i', 0);
  assert.deepEqual(await runWorkers(incrementValue, [[locked, 200_000], [locked, 200_000]]), [0, 0]);
  assert.equal(locked.value, 400_000);
});
