// The distributed Pool when Redis itself fails, and when several drivers or endless inputs share it:
// Redis killed and restarted empty rejects outstanding tasks with BackendLostError (no hang) and the
// pool goes on; two drivers on one cluster each get their own results; imap over an endless input
// reads it only as far as its window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackendLostError, Pool } from '../../src/distributed/index.js';
import { startWorker, useCluster } from '../fixtures/distributed/cluster.js';
import { add, cube, holdUntilReleased } from '../fixtures/distributed/tasks.js';
import { until, within } from '../fixtures/until.js';

const T = { timeout: 120_000 };

const { redis, dir } = await useCluster('backend');

test('two drivers on one cluster each get exactly their own results', T, async () => {
  const namespace = 'two-drivers';
  await Promise.all([1, 2].map(() => startWorker({ url: redis.url, namespace, processes: 2 })));
  const first = new Pool({ url: redis.url, namespace });
  const second = new Pool({ url: redis.url, namespace });
  try {
    const xs = Array.from({ length: 20_000 }, (_, i) => i);
    const [cubes, sums] = await within(
      Promise.all([first.map(cube, xs, 500), second.starmap(add, xs.map((x) => [x, 1] as [number, number]), 500)]),
      'both maps',
      60_000,
    );
    assert.deepEqual(cubes, xs.map((x) => x * x * x));
    assert.deepEqual(sums, xs.map((x) => x + 1));
  } finally {
    await Promise.all([first.terminate(), second.terminate()]);
  }
});

test('imap over an endless generator reads only as far as its window, in order, and stops', T, async () => {
  const namespace = 'endless';
  await startWorker({ url: redis.url, namespace, processes: 2 });
  const pool = new Pool({ url: redis.url, namespace, processes: 4 });
  let pulled = 0;
  function* naturals(): Generator<number> {
    for (let i = 0; ; i++) {
      pulled += 1;
      yield i;
    }
  }
  try {
    const chunksize = 100;
    let i = 0;
    for await (const y of pool.imap(cube, naturals(), chunksize)) {
      assert.equal(y, i * i * i);
      if (++i === 5_000) break;
    }
    // The window is processes × 4 chunks: the input was read at most that far past what was consumed.
    assert.ok(pulled <= 5_000 + 4 * 4 * chunksize, `pulled ${pulled}`);
    const stopped = pulled;
    assert.equal(await within(pool.apply(cube, [2]), 'apply after'), 8);
    assert.equal(pulled, stopped, 'the input is not read after the loop ends');
  } finally {
    await pool.terminate();
  }
});

test('Redis killed and restarted empty: outstanding tasks reject with BackendLostError; the pool goes on', T, async () => {
  const namespace = 'restart';
  const runs = mkdtempSync(join(dir, 'restart-'));
  await startWorker({ url: redis.url, namespace, lostTaskTimeout: 2_000 });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const held = pool.apply(holdUntilReleased, [runs, 'r']);
    held.catch(() => {});
    await until('the task started', () => readdirSync(runs).some((name) => name.startsWith('started-r-')), 30_000);
    await redis.kill();
    await redis.restart();
    const error = await within(held, 'the rejection after the restart', 30_000).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BackendLostError, String(error));
    assert.equal(error.code, 'ERR_MP_BACKEND_LOST');
    assert.match(error.message, /restarted without its data/);
    writeFileSync(join(runs, 'release'), '');
    // The worker reconnected, and the pool runs new tasks on the new Redis.
    assert.equal(await within(pool.apply(cube, [3]), 'a task after the restart', 60_000), 27);
  } finally {
    await pool.terminate();
  }
});
