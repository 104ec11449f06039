// maxTasksPerChild: a worker is replaced after that many tasks.
import assert from 'node:assert/strict';
import { ctx, test, TIME_SCALE } from '../fixtures/context.js';
import { cube, slow, workerIdent } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

// Each runs on a fixed pool (Python's) and on an elastic one (workers started as tasks wait).
const shapes = [
  { label: 'fixed', options: {} },
  { label: 'elastic', options: { minProcesses: 0, idleTimeout: Infinity } },
] as const;

for (const { label, options } of shapes) {
  test(`maxTasksPerChild 2, ${label} pool of 1: five serial tasks run on threads [a, a, b, b, c]`, T, async () => {
    const pool = new Pool({ processes: 1, maxTasksPerChild: 2, ...options });
    try {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push(await pool.apply(workerIdent));
      const [a, a2, b, b2, c] = ids;
      assert.equal(a2, a);
      assert.equal(b2, b);
      assert.equal(new Set([a, b, c]).size, 3, `threads ${ids.join(',')}`);
    } finally {
      await pool.terminate();
    }
  });

  test(`maxTasksPerChild 1, ${label} pool, tasks submitted at once: each on its own worker, all finish`, T, async () => {
    const pool = new Pool({ processes: 2, maxTasksPerChild: 1, ...options });
    try {
      const ids = await Promise.all(Array.from({ length: 6 }, () => pool.apply(workerIdent)));
      assert.equal(new Set(ids).size, 6, `threads ${ids.join(',')}`);
      assert.deepEqual(await pool.map(cube, [1, 2, 3, 4], 1), [1, 8, 27, 64]);
      pool.close();
      await pool.join();
      assert.equal(pool.size, 0);
    } finally {
      await pool.terminate();
    }
  });
}

test('CPython test_pool_worker_lifetime: many tasks through short-lived workers all finish', T, async () => {
  const pool = new Pool({ processes: 2, maxTasksPerChild: 3 });
  try {
    const results = Array.from({ length: 20 }, (_, i) => pool.applyAsync(slow, [1, i]));
    assert.deepEqual(await Promise.all(results.map((r) => r.get(10_000 * TIME_SCALE))), Array.from({ length: 20 }, (_, i) => i));
    pool.close();
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('CPython test_pool_maxtasksperchild_invalid: 0, -1 and 1.5 are refused', T, () => {
  for (const bad of [0, -1, 1.5]) {
    assert.throws(
      () => new Pool({ processes: 1, maxTasksPerChild: bad }),
      (e: Error & { code?: string }) =>
        e instanceof RangeError && /maxTasksPerChild must be a positive integer/.test(e.message) && e.code === 'ERR_MP_MAX_TASKS',
    );
  }
});
