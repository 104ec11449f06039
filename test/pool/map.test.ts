// Pool.map / mapAsync / starmap / starmapAsync, chunking, inputs, failures, onProgress.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer, threadOnly } from '../fixtures/context.js';
import { add, cube, describeNumber, doubleSometimesLater, failOdd, identity, slow } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('map with default chunking returns results in input order', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.map(cube, range(100)), range(100).map((x) => x ** 3));
    assert.deepEqual(await pool.map(cube, [7]), [343]);
  } finally {
    await pool.terminate();
  }
});

test('CPython test_map: chunksize 20 and chunksize 1', T, async () => {
  const pool = new Pool(2);
  try {
    const expected = range(100).map((x) => x ** 3);
    assert.deepEqual(await pool.map(cube, range(100), 20), expected);
    assert.deepEqual(await pool.map(cube, range(100), 1), expected);
    assert.deepEqual(await pool.map(cube, range(10), 1000), range(10).map((x) => x ** 3));
  } finally {
    await pool.terminate();
  }
});

test('CPython test_map_chunksize: empty input gives [] at once, also with chunksize 1', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.map(cube, []), []);
    assert.deepEqual(await pool.map(cube, [], 1), []);
    assert.deepEqual(await pool.mapAsync(cube, [], 1).get(5000), []);
    assert.deepEqual(await pool.starmap(add, []), []);
    assert.deepEqual(await pool.map(cube, new Set<number>()), []);
  } finally {
    await pool.terminate();
  }
});

test('map takes a Set, a generator and an async generator', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.map(cube, new Set([1, 2, 3])), [1, 8, 27]);
    function* gen() {
      for (let i = 0; i < 10; i++) yield i;
    }
    assert.deepEqual(await pool.map(cube, gen()), range(10).map((x) => x ** 3));
    async function* agen() {
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setImmediate(r));
        yield i;
      }
    }
    assert.deepEqual(await pool.map(cube, agen(), 3), range(10).map((x) => x ** 3));
  } finally {
    await pool.terminate();
  }
});

test('CPython test_map_handle_iterable_exception: an input that throws midway rejects with its error', T, async () => {
  const pool = new Pool(2);
  try {
    class InputError extends Error {}
    function* broken() {
      yield 1;
      yield 2;
      throw new InputError('input broke');
    }
    await assert.rejects(pool.map(cube, broken()), (e: Error) => e instanceof InputError && e.message === 'input broke');
    await assert.rejects(pool.map(cube, broken(), 1), InputError);
    async function* brokenAsync() {
      yield 1;
      throw new InputError('async input broke');
    }
    await assert.rejects(pool.map(cube, brokenAsync()), { message: 'async input broke' });
    // The pool is fine afterwards.
    assert.deepEqual(await pool.map(cube, [2]), [8]);
  } finally {
    await pool.terminate();
  }
});

test('map where some items throw rejects with the first failure in input order, after every chunk finished', T, async () => {
  const pool = new Pool(2);
  try {
    const progress: [number, number | undefined][] = [];
    const error = await pool
      .map(failOdd, range(20), 2, { onProgress: (done, total) => progress.push([done, total]) })
      .then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
    // Every chunk had reported before the rejection.
    assert.deepEqual(progress.at(-1), [20, 20]);
    assert.equal(progress.length, 10);
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, 'odd item 1');
    assert.equal((error as { code?: string }).code, 'E_ODD');
    assert.equal((error as { item?: number }).item, 1);
    assert.match(String(error.stack), /failOdd/);
    // Default chunking and chunksize 1 agree on which error comes first.
    await assert.rejects(pool.map(failOdd, range(20)), { message: 'odd item 1' });
    await assert.rejects(pool.map(failOdd, [0, 2, 4, 9, 3], 1), { message: 'odd item 9' });
  } finally {
    await pool.terminate();
  }
});

test('map: the first failure in input order wins even when a later item fails first in time', { ...T, ...needsSharedMemory, ...threadOnly('its tasks order themselves with Atomics.wait/notify, which do not reach across processes') }, async () => {
  const pool = new Pool(2);
  try {
    // Item 1 fails at once; item 0 fails only once item 1 has (a shared word orders them).
    const word = new Int32Array(sharedBuffer(4));
    const fn = ({ x, failed }: { x: number; failed: Int32Array }) => {
      if (x === 0 && Atomics.wait(failed, 0, 0, 10_000) === 'timed-out') throw new Error('item 1 never failed');
      Atomics.store(failed, 0, 1);
      Atomics.notify(failed, 0);
      throw new Error(`failed ${x}`);
    };
    await assert.rejects(pool.map(fn, [{ x: 0, failed: word }, { x: 1, failed: word }], 1), { message: 'failed 0' });
    assert.equal(Atomics.load(word, 0), 1);
  } finally {
    await pool.terminate();
  }
});

test('mapAsync, starmap, starmapAsync', T, async () => {
  const pool = new Pool(2);
  try {
    const got: number[][] = [];
    const r = pool.mapAsync(cube, [1, 2, 3], undefined, { callback: (v) => got.push(v) });
    assert.deepEqual(await r.get(5000), [1, 8, 27]);
    assert.deepEqual(got, [[1, 8, 27]]);
    assert.equal(r.successful(), true);

    const pairs = range(30).map((i): [number, number] => [i, i * 2]);
    assert.deepEqual(await pool.starmap(add, pairs), range(30).map((i) => i * 3));
    assert.deepEqual(await pool.starmap(add, pairs, 7), range(30).map((i) => i * 3));
    const s = pool.starmapAsync(add, [[1, 2] as [number, number], [3, 4] as [number, number]]);
    assert.deepEqual(await s, [3, 7]);

    const errors: unknown[] = [];
    const bad = pool.mapAsync(failOdd, [0, 1], undefined, { errorCallback: (e) => errors.push(e) });
    await assert.rejects(bad.get(), { message: 'odd item 1' });
    assert.equal(errors.length, 1);
    assert.equal(bad.successful(), false);
  } finally {
    await pool.terminate();
  }
});

test('map: async task functions are awaited', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.starmap(slow, [[10, 1], [5, 2], [1, 3]]), [1, 2, 3]);
  } finally {
    await pool.terminate();
  }
});

test('onProgress is called with (done, total) rising to (n, n)', T, async () => {
  const pool = new Pool(2);
  try {
    const progress: [number, number | undefined][] = [];
    const result = await pool.map(identity, range(50), 5, { onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(result, range(50));
    assert.equal(progress.length, 10);
    assert.deepEqual(progress.at(-1), [50, 50]);
    for (let i = 0; i < progress.length; i++) {
      assert.equal(progress[i]![1], 50);
      if (i > 0) assert.ok(progress[i]![0] > progress[i - 1]![0]);
    }
    const applied: [number, number | undefined][] = [];
    await pool.apply(cube, [2], { onProgress: (d, t) => applied.push([d, t]) });
    assert.deepEqual(applied, [[1, 1]]);
  } finally {
    await pool.terminate();
  }
});

test('numbers travel as blocks and come back exactly: -0, NaN, Infinity, fractions; mixed results fall back', T, async () => {
  const pool = new Pool(2);
  try {
    const special = [-0, NaN, Infinity, -Infinity, 0.1, 2 ** 53, -(2 ** 60), Number.MIN_VALUE];
    const xs = [...special, ...range(500)];
    const ys = await pool.map(identity, xs, 100);
    assert.equal(ys.length, xs.length);
    assert.ok(Object.is(ys[0], -0), 'negative zero survives');
    assert.ok(Number.isNaN(ys[1]));
    assert.deepEqual(ys.slice(2), xs.slice(2));
    const mixed = await pool.map(describeNumber, range(300), 100);
    assert.deepEqual(mixed, range(300).map((x) => (x === 3 ? 'three' : x === 4 ? null : x * 2)));
    // A mostly numeric input with one string goes the ordinary way, item for item.
    const strings = await pool.map(identity, [...range(200), 'x'] as unknown[], 100);
    assert.deepEqual(strings, [...range(200), 'x']);
  } finally {
    await pool.terminate();
  }
});

test('a block of numbers whose function throws or returns promises midway settles every item', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await pool.map(doubleSometimesLater, range(300), 100), range(300).map((x) => x * 2));
    const error = await pool.map(failOdd, range(300), 100).catch((e: unknown) => e as Error);
    assert.ok(error instanceof Error);
    assert.match(error.message, /\b1\b/, 'the first failure in input order (item 1) is the one reported');
  } finally {
    await pool.terminate();
  }
});
