// What a timeout value means (src/timeout.ts): Infinity and ≥ 2³¹ ms are "no limit" / "wait forever",
// NaN is a RangeError, a negative task limit is a RangeError, a negative wait is 0 (as in Python).
// Issue 10: Infinity made Node's timer fire after ~1 ms, so the task was killed and get() gave up at once.
import assert from 'node:assert/strict';
import { TimeoutError } from '../../src/index.js';
import { ctx, test } from '../fixtures/context.js';
import { cube, slow } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('apply with timeout Infinity, 2³¹ or 2³² ms runs the task to the end', T, async () => {
  const pool = new Pool(2);
  try {
    for (const timeout of [Infinity, 2 ** 31, 2 ** 32]) {
      assert.equal(await pool.apply(slow, [150, 7], { timeout }), 7, `timeout ${timeout}`);
    }
    assert.deepEqual(await pool.map(slow as never as (x: number) => number, [], 1, { timeout: Infinity }), []);
    assert.deepEqual(await pool.starmap(slow, [[100, 1], [100, 2]], 1, { timeout: 2 ** 31 }), [1, 2]);
  } finally {
    await pool.terminate();
  }
});

test('a task timeout of NaN or a negative number is a RangeError; a string is a TypeError (ERR_MP_INVALID_TIMEOUT)', T, async () => {
  const pool = new Pool(1);
  try {
    for (const timeout of [Number.NaN, -1, -Infinity]) {
      await assert.rejects(pool.apply(cube, [2], { timeout }), (e: Error & { code?: string }) =>
        e instanceof RangeError && e.code === 'ERR_MP_INVALID_TIMEOUT' && /timeout/.test(e.message));
      await assert.rejects(pool.map(cube, [2], 1, { timeout }), RangeError);
      assert.throws(() => pool.imap(cube, [2], 1, { timeout }), RangeError);
    }
    await assert.rejects(pool.apply(cube, [2], { timeout: '100' as never }), (e: Error & { code?: string }) =>
      e instanceof TypeError && e.code === 'ERR_MP_INVALID_TIMEOUT' && e.message === 'timeout must be a number of milliseconds (or undefined for no limit), not the string "100"');
    assert.equal(await pool.apply(cube, [2], { timeout: 5000 }), 8);
  } finally {
    await pool.terminate();
  }
});

test('AsyncResult.get(Infinity) and get(2³¹) wait for the result', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.applyAsync(slow, [150, 5]).get(Infinity), 5);
    assert.equal(await pool.applyAsync(slow, [150, 6]).get(2 ** 31), 6);
    const waited = pool.applyAsync(slow, [150, 7]);
    await waited.wait(Infinity);
    assert.equal(waited.ready(), true);
  } finally {
    await pool.terminate();
  }
});

test('AsyncResult.get(NaN) rejects with a RangeError; get(-1) is get(0): TimeoutError while pending', T, async () => {
  const pool = new Pool(1);
  try {
    const result = pool.applyAsync(slow, [300, 1]);
    await assert.rejects(result.get(Number.NaN), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_INVALID_TIMEOUT');
    await assert.rejects(result.wait(Number.NaN), RangeError);
    await assert.rejects(result.get(-1), TimeoutError);
    assert.equal(await result.get(), 1);
    assert.equal(await result.get(-1), 1); // ready: the timeout no longer matters
  } finally {
    await pool.terminate();
  }
});
