// initializer / initargs: once per worker before its tasks; a failing initializer fails fast.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { cube, failingInit, failingInitCounted, initStore, readInit, workerIdent } from '../fixtures/pool/tasks.js';
import { until } from '../fixtures/until.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('initializer(...initargs) runs once in each worker before its tasks', T, async () => {
  const pool = new Pool({ processes: 2, initializer: initStore, initargs: ['hello'] });
  try {
    const seen = await pool.map(readInit as never as (x: number) => [string, number], Array.from({ length: 20 }, (_, i) => i), 1);
    for (const entry of seen) assert.deepEqual(entry, ['hello', 1]);
    const applied = await Promise.all(Array.from({ length: 6 }, () => pool.apply(readInit)));
    for (const entry of applied) assert.deepEqual(entry, ['hello', 1]);
  } finally {
    await pool.terminate();
  }
});

test('a self-contained initializer travels by source; async initializers are awaited', T, async () => {
  const pool = new Pool({
    processes: 2,
    initializer: async (value: string) => {
      await new Promise((r) => setTimeout(r, 20));
      (globalThis as { __mpInitValue?: string }).__mpInitValue = value;
      (globalThis as { __mpInitCount?: number }).__mpInitCount = 1;
    },
    initargs: ['from source'],
  });
  try {
    assert.deepEqual(await pool.apply(readInit), ['from source', 1]);
  } finally {
    await pool.terminate();
  }
});

test('the initializer runs again in a replacement worker (maxTasksPerChild)', T, async () => {
  const pool = new Pool({ processes: 1, maxTasksPerChild: 1, initializer: initStore, initargs: ['again'] });
  try {
    const a = await pool.apply(readInit);
    const b = await pool.apply(readInit);
    assert.deepEqual([a, b], [['again', 1], ['again', 1]]);
  } finally {
    await pool.terminate();
  }
});

test('a failing initializer: pending and new tasks reject with its error, no endless respawn', T, async () => {
  const pool = new Pool({ processes: 2, initializer: failingInit });
  try {
    const started = performance.now();
    const pending = [pool.apply(cube, [1]), pool.map(cube, [1, 2, 3]), pool.applyAsync(cube, [2]).get()];
    const outcomes = await Promise.allSettled(pending);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      assert.equal((o as PromiseRejectedResult).reason.message, 'initializer failed on purpose');
    }
    assert.ok(performance.now() - started < 10_000);
    await assert.rejects(pool.apply(cube, [1]), { message: 'initializer failed on purpose' });
    await assert.rejects(pool.map(cube, [1]), { message: 'initializer failed on purpose' });
    // The pool stopped respawning: once closed, join() settles (every worker is gone).
    pool.close();
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('a failing initializer with no task submitted: later tasks reject, nothing hangs', { ...T, ...needsSharedMemory }, async () => {
  const word = new Int32Array(sharedBuffer(4));
  const pool = new Pool({ processes: 1, initializer: failingInitCounted, initargs: [word] });
  try {
    // The pool gives up after three workers failed to start (MAX_START_FAILURES), with no task submitted.
    await until('three failed starts', () => Atomics.load(word, 0) === 3);
    await assert.rejects(pool.apply(workerIdent), (e: Error) => e instanceof RangeError && e.message === 'no init for you');
  } finally {
    await pool.terminate();
  }
});

test('initargs must be an array', T, () => {
  assert.throws(() => new Pool({ processes: 1, initializer: initStore, initargs: 'x' as never }), (e: Error) => e instanceof TypeError && /initargs/.test(e.message));
});
