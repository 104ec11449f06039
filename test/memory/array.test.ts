// Array / SharedArray / RawArray: a real typed array over shared memory, with a lock.
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { incrementArray } from '../fixtures/sync/targets.js';
import { touchArray, writeChars } from '../fixtures/sync/targets-memory.js';
import { runWorkers } from '../fixtures/sync/run.js';
import { allocateShared, MAX_VIEW_LENGTH } from '../../src/runtime/shared-memory.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Array: MpArray, Lock, RawArray, RLock, SharedArray } = ctx;

const T = { timeout: 60_000 };

test('Array is SharedArray; the tutorial: Array("i", range(10)) and Array("d", [...])', () => {
  assert.equal(MpArray, SharedArray);
  const a = new MpArray('i', Array.from({ length: 10 }, (_, i) => i));
  assert.equal(a.length, 10);
  assert.deepEqual([...a], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (let i = 0; i < a.length; i++) a[i] = -a[i];
  assert.deepEqual([...a], [-0, -1, -2, -3, -4, -5, -6, -7, -8, -9].map((x) => x | 0));
  const d = new MpArray('d', [0, 100, 200]);
  d[0] += 1;
  assert.equal(d[0], 1);
  assert.equal(d.at(-1), 200);
  assert.equal(d[3], undefined);
  assert.equal(d[-1], undefined);
});

test('it is the typed array of its typecode, over a SharedArrayBuffer, and instanceof SharedArray', () => {
  const kinds: [string, Function][] = [
    ['b', Int8Array], ['B', Uint8Array], ['h', Int16Array], ['H', Uint16Array], ['i', Int32Array], ['I', Uint32Array],
    ['l', BigInt64Array], ['L', BigUint64Array], ['q', BigInt64Array], ['Q', BigUint64Array], ['f', Float32Array],
    ['d', Float64Array], ['c', Uint8Array], ['u', Uint32Array], ['?', Uint8Array], ['int64', BigInt64Array], ['float32', Float32Array],
  ];
  for (const [code, Ctor] of kinds) {
    const a = new SharedArray(code as 'i', 3);
    assert.ok(a instanceof Ctor, code);
    assert.ok(a instanceof SharedArray, code);
    assert.ok(a.buffer instanceof SharedArrayBuffer, code);
    assert.equal(a.typecode, code);
  }
  assert.equal(new Int32Array(3) instanceof SharedArray, false);
  assert.equal(({}) instanceof SharedArray, false);
  assert.ok(new RawArray('i', 2) instanceof SharedArray);
  // Called without `new`, as Python's Array() is a function.
  assert.ok((SharedArray as unknown as (t: string, n: number) => Int32Array)('i', 2) instanceof Int32Array);
});

test('slice, map and subarray give plain typed arrays; spread, keys and deepEqual see only elements', () => {
  const a = new SharedArray('i', [1, 2, 3]);
  const s = a.slice(1);
  assert.equal(Object.getPrototypeOf(s), Int32Array.prototype);
  assert.deepEqual(s, new Int32Array([2, 3]));
  assert.deepEqual(a.map((x) => x * 2), new Int32Array([2, 4, 6]));
  assert.deepEqual(Object.keys(a), ['0', '1', '2']);
  assert.deepEqual(Array.from(a), [1, 2, 3]);
  const view = a.getObj();
  assert.equal(Object.getPrototypeOf(view), Int32Array.prototype);
  view[0] = 9;
  assert.equal(a[0], 9);
});

test('an array longer than a typed array can be, or than the system can allocate, is refused with a code and the fix', () => {
  // Both were bare RangeErrors of the engine's ('Array buffer allocation failed', 'Invalid typed array length').
  const longest = MAX_VIEW_LENGTH;
  for (const [make, call] of [
    [() => new SharedArray('d', longest + 1), `Array('d', ${longest + 1})`],
    [() => new RawArray('b', 2 ** 53), `Array('b', ${2 ** 53})`],
  ] as const) {
    assert.throws(make, (e: Error & { code?: string }) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.code, 'ERR_MP_ARRAY_SIZE');
      assert.equal(e.message.startsWith(`${call} is too large: `), true, e.message);
      assert.match(e.message, new RegExp(`at most ${longest} elements in this version of Node\\. Split it`));
      return true;
    });
  }
  // The one allocator names the size and keeps the engine's (or the addon's) error as the cause.
  assert.throws(
    () => allocateShared(2 ** 53 - 1, { purpose: "Array('d', 1125899906842623)" }),
    (e: Error & { code?: string; cause?: unknown }) => {
      assert.ok(e instanceof RangeError);
      assert.equal(e.code, 'ERR_MP_OUT_OF_MEMORY');
      assert.match(e.message, /^cannot allocate 9007199254740991 bytes \(8192 TiB\) of shared memory for Array\('d', 1125899906842623\): .+\. Ask for less/);
      assert.ok(e.cause instanceof Error, 'the original error is the cause');
      return true;
    },
  );
});

test('64-bit arrays hold bigints; checks on the initial values', () => {
  const q = new SharedArray('q', [1n, -2n]);
  assert.deepEqual([...q], [1n, -2n]);
  assert.throws(() => new SharedArray('q', [1, 2] as unknown as bigint[]), (e: Error) => e instanceof TypeError && /pass 1n/.test(e.message));
  assert.throws(() => new SharedArray('i', [1, 2.5]), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_VALUE_KIND');
  assert.throws(() => new SharedArray('i', -1), (e: Error & { code?: string }) => e instanceof RangeError && e.message === 'Array length must be >= 0, not -1' && e.code === 'ERR_MP_ARRAY_SIZE');
  assert.throws(() => new SharedArray('i', 1.5), TypeError);
  assert.throws(() => new SharedArray('zz' as 'i', 3), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_TYPECODE');
  assert.throws(() => new SharedArray('i', 'abc' as unknown as number), TypeError);
  assert.equal(new SharedArray('i', 0).length, 0);
  assert.deepEqual([...new SharedArray('?', [true, false, 1])], [1, 0, 1]);
});

test("'c' arrays: .value up to the first NUL, .raw bytes; 'u' from a string", () => {
  const c = new SharedArray('c', 10);
  c.value = 'hello';
  assert.equal(c.value, 'hello');
  assert.equal(c.raw.length, 10);
  c.value = 'hi';
  assert.equal(c.value, 'hi');
  assert.deepEqual([...c.raw.slice(0, 4)], [104, 105, 0, 108]);
  c.raw = new Uint8Array([65, 66, 67]); // as in Python, raw writes no NUL: 'hi\0lo' becomes 'ABClo'
  assert.equal(c.value, 'ABClo');
  assert.throws(() => {
    c.value = 'x'.repeat(11);
  }, /byte string too long/);
  assert.equal(new SharedArray('c', 'abc').value, 'abc');
  const u = new SharedArray('u', 'héllo');
  assert.equal(String.fromCodePoint(...u), 'héllo');
});

test('lock option; RawArray and lock: false have none', async () => {
  const a = new SharedArray('i', 3);
  assert.ok(a.getLock() instanceof RLock);
  const lock = new Lock();
  assert.equal(new SharedArray('i', 3, { lock }).getLock(), lock);
  assert.throws(() => new SharedArray('i', 3, { lock: false }).getLock(), /lock: false/);
  assert.throws(() => new RawArray('i', 3).getLock(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NO_LOCK');
  a.withLock(() => a.withLock(() => (a[0] = 1)));
  {
    using _ = a.guard();
    assert.ok(a.getLock().locked());
  }
  assert.equal(a.getLock().locked(), false);
  assert.equal(await a.withLockAsync(async () => a[0]), 1);
  assert.ok(a.acquire(false));
  a.release();
});

test('an Array crosses into a worker live, nested in arguments; the worker sees a typed array', T, async () => {
  const a = new SharedArray('i', [1, 2, 3]);
  const out = new SharedArray('c', 256);
  assert.deepEqual(await runWorkers(touchArray, [[a, out]]), [0]);
  assert.deepEqual(JSON.parse(out.value), { typecode: 'i', length: 3, values: [1, 2, 3], isInt32: true, locked: false });
  assert.deepEqual([...a], [2, 4, 6]);
  const chars = new RawArray('c', 16);
  assert.deepEqual(await runWorkers(writeChars, [[chars, 'from worker']]), [0]);
  assert.equal(chars.value, 'from worker');
});

test('N workers × M locked updates of every element give exact counts', T, async () => {
  const a = new SharedArray('i', 4);
  assert.deepEqual(await runWorkers(incrementArray, [[a, 20_000], [a, 20_000], [a, 20_000]]), [0, 0, 0]);
  assert.deepEqual([...a], [60_000, 60_000, 60_000, 60_000]);
});
