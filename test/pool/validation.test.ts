// Bad input: clear errors at the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from '../../src/index.js';
import { cube } from '../fixtures/pool/tasks.js';

const T = { timeout: 20_000 };

test('new Pool(0), Pool(-1), Pool(1.5), Pool(NaN) are refused: at least 1, a whole number', T, () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new Pool(bad),
      (e: Error & { code?: string }) =>
        e instanceof RangeError && /Number of processes must be at least 1/.test(e.message) && e.code === 'ERR_MP_POOL_SIZE',
    );
    assert.throws(() => new Pool({ processes: bad }), /Number of processes must be at least 1/);
  }
});

test('maxTasksPerChild 0 and -1 are refused', T, () => {
  for (const bad of [0, -1]) {
    assert.throws(() => new Pool({ processes: 1, maxTasksPerChild: bad }), /maxTasksPerChild must be a positive integer/);
  }
});

test('chunksize 0, -1, 1.5 are refused: "Chunksize must be 1+"', T, async () => {
  const pool = new Pool(1);
  try {
    for (const bad of [0, -1, 1.5]) {
      await assert.rejects(pool.map(cube, [1, 2], bad), (e: Error & { code?: string }) =>
        e instanceof RangeError && e.message === `Chunksize must be 1+, not ${bad}` && e.code === 'ERR_MP_CHUNKSIZE');
      await assert.rejects(pool.starmap(cube, [[1]], bad), /Chunksize must be 1\+/);
      await assert.rejects(pool.mapAsync(cube, [1], bad).get(), /Chunksize must be 1\+/);
      assert.throws(() => pool.imap(cube, [1], bad), /Chunksize must be 1\+/);
      assert.throws(() => pool.imapUnordered(cube, [1], bad), /Chunksize must be 1\+/);
    }
    // Even for an empty input.
    await assert.rejects(pool.map(cube, [], 0), /Chunksize must be 1\+/);
    assert.deepEqual(await pool.map(cube, [1, 2], 1), [1, 8]);
  } finally {
    await pool.terminate();
  }
});

test('a non-function fn is a TypeError at the call', T, async () => {
  const pool = new Pool(1);
  try {
    for (const bad of [42, 'cube', null, undefined, { name: 'x' }]) {
      await assert.rejects(pool.apply(bad as never, []), (e: Error) => e instanceof TypeError && /fn must be a function/.test(e.message));
      await assert.rejects(pool.map(bad as never, [1]), TypeError);
      await assert.rejects(pool.starmap(bad as never, [[1]]), TypeError);
      await assert.rejects(pool.applyAsync(bad as never, []).get(), TypeError);
      assert.throws(() => pool.imap(bad as never, [1]), TypeError);
    }
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('a symbol argument is refused with a TypeError naming its path', T, async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(cube as never, [{ k: Symbol('s') }]), (e: Error) => e instanceof TypeError && /args\[0\]\.k/.test(e.message));
  } finally {
    await pool.terminate();
  }
});
