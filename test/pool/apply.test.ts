// Pool.apply / applyAsync, and how functions reach the workers.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';
import { add, callIt, countCalls, cube, importSibling, raiseIf7 } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('apply runs the function in a worker and resolves with its value', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.apply(cube, [3]), 27);
    assert.equal(await pool.apply(add, [2, 5]), 7);
    assert.deepEqual(await Promise.all([1, 2, 3, 4].map((x) => pool.apply(cube, [x]))), [1, 8, 27, 64]);
  } finally {
    await pool.terminate();
  }
});

test('apply rejects with the worker error: class, message, code, own properties, worker stack', T, async () => {
  const pool = new Pool(2);
  try {
    const error = await pool.apply(raiseIf7, [7]).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'seven');
    assert.equal((error as { code?: string }).code, 'E_SEVEN');
    assert.match(String(error.stack), /raiseIf7/);
    assert.equal(await pool.apply(raiseIf7, [3]), 6);
  } finally {
    await pool.terminate();
  }
});

test('an exported function travels by reference: module state lives in the worker', T, async () => {
  const pool = new Pool(1);
  try {
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(await pool.apply(countCalls));
    assert.deepEqual(counts, [1, 2, 3]);
  } finally {
    await pool.terminate();
  }
});

test('a self-contained arrow travels by source', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.apply((x: number, y: number) => x * y + 1, [6, 7]), 43);
    assert.deepEqual(await pool.map((s: string) => s.toUpperCase(), ['a', 'b']), ['A', 'B']);
  } finally {
    await pool.terminate();
  }
});

test('a { module, name } reference is imported by the worker', T, async () => {
  const pool = new Pool(2);
  try {
    const ref = { module: new URL('../fixtures/pool/tasks.ts', import.meta.url), name: 'cube' };
    assert.equal(await pool.apply<[number], number>(ref, [4]), 64);
    const missing = { module: new URL('../fixtures/pool/tasks.ts', import.meta.url), name: 'noSuchExport' };
    await assert.rejects(pool.apply(missing, []), (e: Error) => e instanceof TypeError && /noSuchExport/.test(e.message));
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('a closure over an entry-script variable is refused with a message naming the variable', T, async () => {
  const pool = new Pool(2);
  try {
    const factor = 3;
    const times = (x: number) => x * factor;
    await assert.rejects(pool.apply(times, [2]), (e: Error) => e instanceof TypeError && /'factor'/.test(e.message));
    await assert.rejects(pool.map(times, [1, 2]), (e: Error) => e instanceof TypeError && /'factor'/.test(e.message));
    assert.throws(() => pool.imap(times, [1, 2]), (e: Error) => e instanceof TypeError && /'factor'/.test(e.message));
  } finally {
    await pool.terminate();
  }
});

test('a function inside the arguments crosses too: callIt(add, [3, 7]) is 10', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.apply(callIt, [add, [3, 7]]), 10);
    assert.equal(await pool.apply(callIt, [(a: number) => a - 1, [10]]), 9);
  } finally {
    await pool.terminate();
  }
});

test('applyAsync calls callback with the value, errorCallback with the error', T, async () => {
  const pool = new Pool(2);
  try {
    const values: number[] = [];
    const errors: unknown[] = [];
    const ok = pool.applyAsync(cube, [5], { callback: (v) => values.push(v), errorCallback: (e) => errors.push(e) });
    assert.equal(await ok.get(), 125);
    assert.deepEqual(values, [125]);
    assert.equal(errors.length, 0);

    const bad = pool.applyAsync(raiseIf7, [7], { callback: (v) => values.push(v), errorCallback: (e) => errors.push(e) });
    await assert.rejects(bad.get(), { name: 'TypeError', message: 'seven' });
    assert.deepEqual(values, [125]);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TypeError);
    assert.equal(bad.successful(), false);
  } finally {
    await pool.terminate();
  }
});

test('CPython test_apply: apply with no args, and with several', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.apply(() => 42), 42);
    assert.equal(await pool.apply(() => 42, []), 42);
    // A global function of the runtime crosses by its path, as pickle sends Python's max.
    assert.equal(await pool.apply(Math.max, [1, 2, 3]), 3);
  } finally {
    await pool.terminate();
  }
});

// A function whose only "outer" reference is a relative dynamic import looks self-contained, but compiled
// elsewhere its './tasks.js' would resolve against the library: it must go by module reference.
test('an exported function with a relative dynamic import runs with its own module\'s resolution', T, async () => {
  const pool = new Pool(1);
  try {
    assert.equal(await pool.apply(importSibling), 8);
  } finally {
    await pool.terminate();
  }
});
