// Chunks of numbers travel as blocks (Int32Array for integers, Float64Array otherwise) and results come
// back as blocks (Int32Array, Uint8Array for booleans, Float64Array, columns for small records): every
// value must arrive exactly as it was, and in the representation a plain array would have given
// (issue 11: a worker fed integers as doubles ran `isPrime` 5× slower).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ctx, test } from '../fixtures/context.js';
import { changingKinds, describe, evenUnless7, identity, inspectRecord, isEven, kindByRange, record, unevenRecord } from '../fixtures/pool/number-tasks.js';
import { runNode } from '../fixtures/process/subprocess.js';
import { Scheduler } from '../../src/pool/scheduler.js';
import { TaskMode } from '../../src/pool/protocol.js';
import { pack, toWireFunction } from '../../src/transport/pack.js';
import { getStartMethod } from '../../src/index.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Asserts an exact round trip: same length, and each item `Object.is` the expected one (-0, NaN). */
function assertExact(actual: unknown[], expected: unknown[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`item ${i}: got ${describe(actual[i])}, expected ${describe(expected[i])}`);
  }
}

test('integers, int32 limits and the first values past them come back exactly, by default and by chunksize', T, async () => {
  const pool = new Pool(2);
  try {
    const limits = [2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 0];
    const xs = [...range(2000, -1000), ...limits];
    assertExact(await pool.map(identity, xs), xs);
    assertExact(await pool.map(identity, xs, 64), xs);
    assertExact(await pool.map(identity, xs, 1000), xs);
  } finally {
    await pool.terminate();
  }
});

test('-0, NaN, ±Infinity and fractions among integers, in the same chunk and in chunks of their own', T, async () => {
  const pool = new Pool(2);
  try {
    // Chunks of 100: the first is all int32, the second has -0 in the middle, the third NaN at its end,
    // the fourth fractions and infinities; a chunk of ints follows each.
    const xs: number[] = [...range(100), ...range(100, 100), ...range(100, 200), ...range(100, 300)];
    xs[150] = -0;
    xs[299] = NaN;
    xs[300] = 0.5;
    xs[301] = Infinity;
    xs[302] = -Infinity;
    xs[303] = -1e-300;
    const more = [...xs, ...range(100, 400)];
    assertExact(await pool.map(identity, more, 100), more);
    assertExact(await pool.map(identity, more), more);
    // The function sees each value as it was sent.
    assert.deepEqual(await pool.map(describe, more, 100), more.map(describe));
  } finally {
    await pool.terminate();
  }
});

test('guided chunks of int and double items whose results change kind by range stay exact, map after map', T, async () => {
  const pool = new Pool(2);
  try {
    // Int items, then a stretch of fractional items (double blocks), then ints again; results change
    // kind by range (int32, doubles, booleans), within chunks and between them.
    const xs = range(200_000).map((x) => (x >= 60_000 && x < 120_000 ? x + 0.25 : x));
    for (let round = 0; round < 3; round++) assertExact(await pool.map(kindByRange, xs), xs.map(kindByRange));
    const ints = range(300_000);
    assertExact(await pool.map(isEven, ints), ints.map(isEven));
    assertExact(await pool.map(identity, ints), ints);
  } finally {
    await pool.terminate();
  }
});

test('an input that starts with numbers and holds something else later: every item arrives as it was, errors name the index', T, async () => {
  const pool = new Pool(2);
  try {
    const mixed: unknown[] = [...range(3000), 'a string', { id: 1 }, ...range(3000), null, ...range(100)];
    assert.deepEqual(await pool.map(identity, mixed), mixed);
    assert.deepEqual(await pool.map(identity, mixed, 50), mixed);
    // A function among the items travels (as a function argument does); as a result it cannot come back.
    const withFunction: unknown[] = [...range(5000), () => 1, ...range(10)];
    await assert.rejects(pool.map(identity, withFunction), (e: Error) => e instanceof TypeError && /^result\[5000\] cannot be sent back/.test(e.message));
    assert.deepEqual(await pool.map(identity, range(10)), range(10));
  } finally {
    await pool.terminate();
  }
});

test('chunks that are views into one buffer (as the cluster decodes them) each come back exact', T, async () => {
  // The distributed worker hands its threads the chunks of a Redis reply as Node's v8.deserialize gives
  // them: views into the reply's buffer, sent in one message, so that the thread sees them share one
  // buffer too. Results once written over a chunk's own buffer, and moved back, emptied the others.
  const scheduler = new Scheduler({
    processes: 1, minProcesses: 1, idleTimeout: Infinity, initializer: null, initargs: pack([], 'initargs'),
    maxTasksPerChild: null, concurrentTasksPerWorker: 1, resourceLimits: undefined, env: undefined, argv: undefined,
    execArgv: undefined, name: 'ViewTest', startMethod: getStartMethod(),
  });
  try {
    const shared = new Int32Array(3000).map((_, i) => i);
    const chunks = [shared.subarray(0, 1000), shared.subarray(1000, 2000), shared.subarray(2000, 3000)];
    for (const fn of [isEven, identity] as const) {
      const wire = toWireFunction(fn, 'fn');
      const results = await Promise.all(
        chunks.map((data, k) => new Promise<unknown>((resolve, reject) => {
          scheduler.submit({ fn: wire, mode: TaskMode.Map, data, live: false, base: k * 1000, onResult: (_, value) => resolve(value), onError: reject });
        })),
      );
      results.forEach((block, k) => assert.deepEqual(Array.from(block as ArrayLike<unknown>), Array.from(chunks[k]!, (x) => (fn === isEven ? Number(x % 2 === 0) : x)), `${fn.name} chunk ${k}`));
    }
  } finally {
    await scheduler.terminate(new Error('test over'));
  }
});

test('boolean results come back as booleans, not 0 and 1', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = range(1000);
    const evens = await pool.map(isEven, xs);
    assertExact(evens, xs.map(isEven));
    assert.equal(evens.filter((x) => x === true).length, 500);
    assertExact(await pool.map(isEven, xs, 64), xs.map(isEven));
    // From an input that is not numbers, and through imap (plain chunks whose results are booleans).
    const strings = xs.map(String);
    assertExact(await pool.map((s: string) => s.endsWith('0'), strings, 100), strings.map((s) => s.endsWith('0')));
    const streamed: boolean[] = [];
    for await (const even of pool.imap(isEven, xs, 100)) streamed.push(even);
    assertExact(streamed, xs.map(isEven));
  } finally {
    await pool.terminate();
  }
});

test('results that change kind within a chunk (int32, doubles, a string, -0, undefined, booleans) come back exactly', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = range(400);
    const expected = xs.map(changingKinds);
    assertExact(await pool.map(changingKinds, xs, 400), expected);
    assertExact(await pool.map(changingKinds, xs, 100), expected);
    assertExact(await pool.map(changingKinds, xs), expected);
    // Doubles from integers (a block of ints in, a block of doubles out), and objects from numbers.
    assertExact(await pool.map((x: number) => x / 4, xs), xs.map((x) => x / 4));
    assert.deepEqual(await pool.map((x: number) => ({ x }), xs, 100), xs.map((x) => ({ x })));
    // Numbers and booleans mixed in one chunk stay as they were.
    assertExact(await pool.map((x: number) => (x % 2 === 0 ? x : false), xs, 100), xs.map((x) => (x % 2 === 0 ? x : false)));
  } finally {
    await pool.terminate();
  }
});

test('a chunk of booleans where some items throw: imap delivers the others as booleans, map rejects with the first', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = range(200);
    const seen: unknown[] = [];
    const failures: number[] = [];
    const it = pool.imap(evenUnless7, xs, 100);
    for (let i = 0; i < xs.length; i++) {
      try {
        const { value } = await it.next();
        seen.push(value);
      } catch (error) {
        failures.push(i);
        assert.match((error as Error).message, new RegExp(`multiple of 7: ${i}$`));
        seen.push('failed');
      }
    }
    assert.deepEqual(failures, xs.filter((x) => x > 0 && x % 7 === 0));
    assertExact(seen, xs.map((x) => (x > 0 && x % 7 === 0 ? 'failed' : x % 2 === 0)));
    await assert.rejects(pool.map(evenUnless7, xs), { message: 'multiple of 7: 7' });
  } finally {
    await pool.terminate();
  }
});

test('the default chunking cuts 100,000 items into 29 guided chunks; an explicit chunksize is used as given', T, async () => {
  const pool = new Pool(2);
  try {
    const progress: number[] = [];
    const xs = range(100_000);
    assertExact(await pool.map(identity, xs, undefined, { onProgress: (done) => progress.push(done) }), xs);
    // Guided sizes: 12,500 first (as Python's 4 per worker), then smaller, down to 782 (1/64 of a share).
    assert.equal(progress.at(-1), 100_000);
    assert.equal(progress.length, 29);
    // An explicit chunksize is used as given.
    const explicit: number[] = [];
    await pool.map(identity, xs, 25_000, { onProgress: (done) => explicit.push(done) });
    assert.deepEqual(explicit, [25_000, 50_000, 75_000, 100_000]);
  } finally {
    await pool.terminate();
  }
});

test('integers reach the function as V8 small integers, as from a plain array, and integer results come back so', T, async () => {
  const script = fileURLToPath(new URL('../fixtures/pool/representation-main.ts', import.meta.url));
  const run = await runNode(['--allow-natives-syntax', '--import', 'tsx'], script, [], 25_000);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { fromBlocks: 1000, fromArrays: 1000, resultsBack: 1000 });
});

test('close() or terminate() right after a map whose chunks are handed over a few at a time', T, async () => {
  const xs = range(100_000);
  const closed = new Pool(2);
  const whole = closed.map(identity, xs);
  closed.close();
  assertExact(await whole, xs);
  await closed.join();

  const terminated = new Pool(2);
  const cut = assert.rejects(terminated.map(identity, xs), { code: 'ERR_MP_POOL_TERMINATED' });
  await terminated.terminate();
  await cut;
});

test('small records come back as the same plain objects: keys in order, -0, NaN, null and undefined kept', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = range(1000);
    const results = await pool.map(record, xs, 250);
    assert.deepEqual(await pool.map(record, xs), results);
    assert.deepEqual(results, xs.map(record));
    for (const [i, result] of results.entries()) {
      assert.equal(Object.getPrototypeOf(result), Object.prototype);
      assert.deepEqual(Object.keys(result), ['id', 'name', 'half', 'even', 'note']);
      assert.ok(Object.is(result.half, record(i).half), `half of ${i}`);
      assert.ok('note' in result);
    }
    // Through imap too, where a chunk's results are handed out one by one.
    const streamed: unknown[] = [];
    for await (const result of pool.imap(record, xs, 100)) streamed.push(result);
    assert.deepEqual(streamed, xs.map(record));
  } finally {
    await pool.terminate();
  }
});

test('records that differ (nesting, key order, null prototype, an own __proto__ key) come back as structured clone makes them', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = range(200);
    const results = (await pool.map(unevenRecord, xs, 100)) as Record<string, unknown>[];
    assert.deepEqual(results.slice(0, 70), range(70).map((id) => ({ id })));
    assert.deepEqual(results[70], { id: 70, nested: { deep: [70] } });
    assert.deepEqual(Object.keys(results[71]!), ['name', 'id']);
    assert.deepEqual({ ...results[72] }, { id: 72 });
    assert.deepEqual(Object.keys(results[73]!), ['id', '__proto__']);
    assert.equal(Object.getPrototypeOf(results[73]), Object.prototype);
    assert.deepEqual(results.slice(74), range(126, 74).map((id) => ({ id })));
  } finally {
    await pool.terminate();
  }
});

test('small records as items reach the function as the same plain objects, and round-trip exactly', T, async () => {
  const pool = new Pool(2);
  try {
    const items = range(1000).map(record);
    assert.deepEqual(await pool.map(inspectRecord, items, 250), items.map(inspectRecord));
    const back = await pool.map(identity, items, 250);
    assert.deepEqual(back, items);
    assert.ok(Object.is(back[1]!.half, -0) && Number.isNaN(back[2]!.half));
    const streamed: string[] = [];
    for await (const seen of pool.imapUnordered(inspectRecord, items, 100)) streamed.push(seen);
    assert.deepEqual(streamed.sort(), items.map(inspectRecord).sort());
    // Items that are not all such records (one nested object) go the ordinary way.
    const mixed: object[] = [...items.slice(0, 500), { id: 500, nested: { x: 1 } }, ...items.slice(501)];
    assert.deepEqual(await pool.map(identity, mixed, 250), mixed);
  } finally {
    await pool.terminate();
  }
});
