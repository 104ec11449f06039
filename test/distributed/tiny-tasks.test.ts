// Tiny `apply` tasks travel in bundles (distributed/executor.ts): once the workers have reported a
// function's tasks tiny, its tasks submitted together share a BullMQ job, and each still has its own
// result and its own cancel; a bundle whose worker dies runs again elsewhere as a whole, and each task
// settles once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from '../../src/distributed/index.js';
import { bundling } from '../../src/distributed/executor.js';
import { killWorker, startedBy, startWorker, type TestWorker, useCluster } from '../fixtures/distributed/cluster.js';
import { add, cube, holdUntilReleased } from '../fixtures/distributed/tasks.js';
import { until, within } from '../fixtures/until.js';

const T = { timeout: 120_000 };
const LEASE = 1_000; // the workers' --lost-task-timeout in the lost-worker test

const { redis, dir } = await useCluster('tiny');

/** Jobs added to a namespace's task queue so far: BullMQ counts every add, custom job ids included. */
async function jobsAdded(namespace: string): Promise<number> {
  const connection = new Redis(redis.url);
  try {
    return Number((await connection.get(`mp:{${namespace}}:tasks:id`)) ?? 0);
  } finally {
    connection.disconnect();
  }
}

const cubes = (pool: Pool, count: number): Promise<number>[] => Array.from({ length: count }, (_, x) => pool.apply(cube, [x]));
const exactCubes = (count: number): number[] => Array.from({ length: count }, (_, x) => x ** 3);

/**
 * Runs rounds of `size` tasks (`task(k)` submits the k-th), all submitted at once, until one round
 * travels in a single job: the workers have reported them tiny.
 */
async function warmUntilBundled(namespace: string, size: number, task: (k: number) => Promise<unknown>): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const before = await jobsAdded(namespace);
    await within(Promise.all(Array.from({ length: size }, (_, k) => task(k))), 'a warm-up round');
    if ((await jobsAdded(namespace)) - before === 1) return;
    if (performance.now() > deadline) assert.fail(`${size} tiny tasks submitted together never shared one job within 30 s`);
  }
}

/**
 * Runs `body` with bundles sized by count alone (up to the most a job takes) once the workers have
 * reported a function, so that which tasks share a job does not follow how loaded the machine is.
 */
async function withLoadFreeBundles(body: () => Promise<void>): Promise<void> {
  const workMs = bundling.workMs;
  bundling.workMs = 1e9;
  try {
    await body();
  } finally {
    bundling.workMs = workMs;
  }
}

/** A directory whose `holdUntilReleased` tasks return at once. */
function released(): string {
  const runs = mkdtempSync(join(dir, 'released-'));
  writeFileSync(join(runs, 'release'), '');
  return runs;
}


test('tiny applies submitted together share jobs, each with its own exact result', T, async () => {
  const namespace = 'tiny-share';
  await startWorker({ url: redis.url, namespace, processes: 2 });
  const pool = new Pool({ url: redis.url, namespace, processes: 64 });
  try {
    // Before the workers report any run time, each task is a job of its own.
    const before = await jobsAdded(namespace);
    assert.deepEqual(await within(Promise.all(cubes(pool, 4)), 'the first tasks'), exactCubes(4));
    assert.equal((await jobsAdded(namespace)) - before, 4);
    await warmUntilBundled(namespace, 16, (x) => pool.apply(cube, [x]));
    const start = await jobsAdded(namespace);
    const completed = pool.stats().completed;
    assert.deepEqual(await within(Promise.all(cubes(pool, 2_000)), '2,000 applies', 60_000), exactCubes(2_000));
    const jobs = (await jobsAdded(namespace)) - start;
    assert.ok(jobs < 1_000, `2,000 tiny tasks took ${jobs} jobs`);
    assert.equal(pool.stats().completed - completed, 2_000);
    // Another function's tasks are not bundled on the strength of cube's: not until they are measured.
    const other = await jobsAdded(namespace);
    assert.deepEqual(await within(Promise.all([1, 2, 3, 4].map((x) => pool.apply(add, [x, 1]))), 'the first tasks of add'), [2, 3, 4, 5]);
    assert.equal((await jobsAdded(namespace)) - other, 4);
  } finally {
    pool.close();
    await within(pool.join(), 'join');
  }
});

test('a cancelled task of a bundle rejects alone; the other tasks of its job resolve', T, async () => {
  await withLoadFreeBundles(async () => {
    const namespace = 'tiny-cancel';
    const runs = mkdtempSync(join(dir, 'cancel-'));
    const free = released();
    // One thread: the bundle's other tasks are pipelined behind the held one on it, so the cancel stops
    // the thread they wait on, and they run again on its replacement.
    await startWorker({ url: redis.url, namespace, processes: 1 });
    const pool = new Pool({ url: redis.url, namespace, processes: 64 });
    try {
      await warmUntilBundled(namespace, 5, (k) => pool.apply(holdUntilReleased, [free, `warm${k}`]));
      const before = await jobsAdded(namespace);
      const controller = new AbortController();
      const held = pool.apply(holdUntilReleased, [runs, 'a'], { signal: controller.signal });
      const beside = ['b0', 'b1', 'b2', 'b3'].map((tag) => pool.apply(holdUntilReleased, [free, tag]));
      await until('the held task started', () => startedBy(runs, 'a').length === 1, 30_000);
      controller.abort(new Error('cancelled'));
      await assert.rejects(held, { message: 'cancelled' });
      assert.deepEqual(await within(Promise.all(beside), 'the tasks beside the cancelled one', 30_000), ['b0', 'b1', 'b2', 'b3']);
      assert.equal((await jobsAdded(namespace)) - before, 1, 'the 5 tasks submitted together shared one job');
      assert.equal(startedBy(runs, 'a').length, 1);
    } finally {
      await pool.terminate();
    }
  });
});

test('a bundle whose worker is killed runs again elsewhere as a whole; each task settles once', T, async () => {
  await withLoadFreeBundles(async () => {
    const namespace = 'tiny-lost';
    const runs = mkdtempSync(join(dir, 'lost-'));
    const free = released();
    const workers = await Promise.all([1, 2].map(() => startWorker({ url: redis.url, namespace, lostTaskTimeout: LEASE })));
    const pool = new Pool({ url: redis.url, namespace, processes: 64 });
    try {
      await warmUntilBundled(namespace, 5, (k) => pool.apply(holdUntilReleased, [free, `warm${k}`]));
      const before = await jobsAdded(namespace);
      const held = pool.apply(holdUntilReleased, [runs, 'k']);
      const beside = ['b0', 'b1', 'b2', 'b3'].map((tag) => pool.apply(holdUntilReleased, [free, tag]));
      await until('the held task started', () => startedBy(runs, 'k').length === 1, 30_000);
      const victim: TestWorker | undefined = workers.find((worker) => worker.pid === startedBy(runs, 'k')[0]);
      assert.ok(victim, 'the held task started in a worker of this test');
      await killWorker(victim);
      await until('the bundle started again on the other worker', () => startedBy(runs, 'k').length === 2, 30_000);
      writeFileSync(join(runs, 'release'), '');
      assert.equal(await within(held, 'the re-run held task', 30_000), 'k');
      assert.deepEqual(await within(Promise.all(beside), 'the tasks beside it', 30_000), ['b0', 'b1', 'b2', 'b3']);
      assert.equal((await jobsAdded(namespace)) - before, 1, 'the 5 tasks submitted together shared one job');
      // Queued behind the held task on the killed worker's only thread, they first ran on the other one.
      for (const tag of ['b0', 'b1', 'b2', 'b3']) assert.equal(startedBy(free, tag).length, 1, tag);
      const [first, second] = startedBy(runs, 'k');
      assert.notEqual(first, second);
    } finally {
      await pool.terminate();
    }
  });
});
