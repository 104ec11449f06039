// The worker command: SIGTERM drains (the running task finishes, then the worker exits 0); a second
// SIGTERM abandons (exit 1; the task runs again on another worker); a driver whose tasks.ts differs
// from the worker's is refused, naming the two builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from '../../src/distributed/index.js';
import { startWorker, TASKS, useCluster } from '../fixtures/distributed/cluster.js';
import { cube, holdUntilReleased } from '../fixtures/distributed/tasks.js';
import { until, within } from '../fixtures/until.js';

const T = { timeout: 120_000 };

const { redis, dir } = await useCluster('worker');

const started = (runs: string, tag: string) => readdirSync(runs).filter((name) => name.startsWith(`started-${tag}-`)).length;

test('SIGTERM drains: the running task finishes and is delivered, then the worker exits 0', T, async () => {
  const namespace = 'drain';
  const runs = mkdtempSync(join(dir, 'drain-'));
  const worker = await startWorker({ url: redis.url, namespace });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const result = pool.apply(holdUntilReleased, [runs, 'd']);
    await until('the task started', () => started(runs, 'd') === 1, 30_000);
    worker.child.kill('SIGTERM');
    await until('the worker says it is draining', () => worker.output().includes('finishing the running tasks'), 30_000);
    writeFileSync(join(runs, 'release'), '');
    assert.equal(await within(result, 'the drained task', 30_000), 'd');
    assert.equal(await within(worker.exited, 'the worker exit', 30_000), 0);
    assert.equal(started(runs, 'd'), 1);
  } finally {
    await pool.terminate();
  }
});

test('a second SIGTERM abandons: the worker exits 1 and the task runs again elsewhere', T, async () => {
  const namespace = 'abandon';
  const runs = mkdtempSync(join(dir, 'abandon-'));
  const first = await startWorker({ url: redis.url, namespace, lostTaskTimeout: 1_000 });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const result = pool.apply(holdUntilReleased, [runs, 'a']);
    await until('the task started', () => started(runs, 'a') === 1, 30_000);
    await startWorker({ url: redis.url, namespace, lostTaskTimeout: 1_000 });
    first.child.kill('SIGTERM');
    await until('the worker says it is draining', () => first.output().includes('finishing the running tasks'), 30_000);
    first.child.kill('SIGTERM');
    assert.equal(await within(first.exited, 'the abandoning worker exit', 30_000), 1);
    await until('the task started again on the other worker', () => started(runs, 'a') === 2, 30_000);
    writeFileSync(join(runs, 'release'), '');
    assert.equal(await within(result, 'the re-run task', 30_000), 'a');
  } finally {
    await pool.terminate();
  }
});

test('a worker with a different build of the task module refuses its tasks, naming both builds', T, async () => {
  const namespace = 'builds';
  // The same module path under another directory, one comment longer: another build of tasks.ts.
  const other = mkdtempSync(join(dir, 'other-build-'));
  const copy = join(other, TASKS);
  mkdirSync(join(copy, '..'), { recursive: true });
  copyFileSync(fileURLToPath(new URL('../fixtures/distributed/tasks.ts', import.meta.url)), copy);
  appendFileSync(copy, '// another build\n');
  await startWorker({ url: redis.url, namespace, cwd: other });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    await assert.rejects(within(pool.apply(cube, [2]), 'the refusal'), {
      code: 'ERR_MP_FUNCTION_CHANGED',
      message: /driver and worker run different builds of \.\/test\/fixtures\/distributed\/tasks\.ts/,
    });
  } finally {
    await pool.terminate();
  }
});
