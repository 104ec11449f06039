// close / join / terminate / await using, and that no worker outlives its pool.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { cube, identity, slow, startThenSleep } from '../fixtures/pool/tasks.js';
import { until } from '../fixtures/until.js';
import { runTs } from '../fixtures/process/subprocess.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('close() refuses new work: apply, map, imap reject with "Pool not running"', T, async () => {
  const pool = new Pool(2);
  try {
    pool.close();
    await assert.rejects(pool.apply(cube, [1]), (e: Error & { code?: string }) => /Pool not running/.test(e.message) && e.code === 'ERR_MP_POOL_NOT_RUNNING');
    await assert.rejects(pool.map(cube, [1]), /Pool not running/);
    await assert.rejects(pool.applyAsync(cube, [1]).get(), /Pool not running/);
    assert.throws(() => pool.imap(cube, [1]), /Pool not running/);
    pool.close(); // twice is fine
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('join() before close() rejects with "Pool is still running"', T, async () => {
  const pool = new Pool(2);
  try {
    await assert.rejects(pool.join(), (e: Error & { code?: string }) => /Pool is still running/.test(e.message) && e.code === 'ERR_MP_POOL_RUNNING');
    assert.equal(await pool.apply(cube, [2]), 8); // still usable
  } finally {
    await pool.terminate();
  }
});

test('close then join with work pending: the work finishes and its results are available', T, async () => {
  const pool = new Pool(2);
  try {
    const results = [1, 2, 3, 4, 5, 6].map((x) => pool.applyAsync(slow, [50, x]));
    const mapped = pool.map(cube, [1, 2, 3]);
    pool.close();
    await pool.join();
    assert.deepEqual(results.map((r) => r.ready()), [true, true, true, true, true, true]);
    assert.deepEqual(await Promise.all(results.map((r) => r.get())), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await mapped, [1, 8, 27]);
    await pool.join(); // again: still resolved
  } finally {
    await pool.terminate();
  }
});

test('CPython test_pool_worker_lifetime_early_close: close before tasks finish does not hang', T, async () => {
  const pool = new Pool({ processes: 1, maxTasksPerChild: 1 });
  try {
    const results = [0, 1, 2, 3, 4, 5].map((x) => pool.applyAsync(slow, [20, x]));
    pool.close();
    await pool.join();
    assert.deepEqual(await Promise.all(results.map((r) => r.get())), [0, 1, 2, 3, 4, 5]);
  } finally {
    await pool.terminate();
  }
});

test('CPython test_terminate: terminate() with 10,000 pending slow tasks returns promptly and rejects them all', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  const word = new Int32Array(sharedBuffer(4));
  const tasks = Array.from({ length: 10_000 }, (_, i) => pool.apply(startThenSleep, [word, 1000, i]));
  const settled = Promise.allSettled(tasks);
  await until('a task to run on each worker', () => Atomics.load(word, 0) >= 2);
  const started = performance.now();
  await pool.terminate();
  const ms = performance.now() - started;
  assert.ok(ms < 5000, `terminate took ${ms} ms`);
  const outcomes = await settled;
  assert.equal(outcomes.length, 10_000);
  const rejected = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
  assert.equal(rejected.length, 10_000);
  assert.ok(rejected.every((o) => (o.reason as { code?: string }).code === 'ERR_MP_POOL_TERMINATED'));
  await pool.join();
  await pool.terminate(); // twice is fine
  await assert.rejects(pool.apply(cube, [1]), /Pool not running/);
});

test('terminate() rejects starmap, applyAsync and imap work in flight', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  const word = new Int32Array(sharedBuffer(4));
  const starred = pool.starmap(startThenSleep, [[word, 2000, 1], [word, 2000, 2], [word, 2000, 3]], 1);
  starred.catch(() => {});
  const asyncResult = pool.applyAsync(slow, [2000, 4]);
  const it = pool.imap((x: number) => new Promise<number>((r) => setTimeout(() => r(x), 2000)), [1, 2, 3]);
  const next = it.next();
  next.catch(() => {}); // handled below, after terminate()
  await until('a task to run on each worker', () => Atomics.load(word, 0) === 2);
  const started = performance.now();
  await pool.terminate();
  assert.ok(performance.now() - started < 1500);
  await assert.rejects(starred, { code: 'ERR_MP_POOL_TERMINATED' });
  await assert.rejects(asyncResult.get(), { code: 'ERR_MP_POOL_TERMINATED' });
  assert.equal(asyncResult.successful(), false);
  await assert.rejects(next, { code: 'ERR_MP_POOL_TERMINATED' });
});

test('terminate() while chunks are still in flight drops their late results without an error', T, async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    for (let round = 0; round < 5; round++) {
      const pool = new Pool(2);
      let done = 0;
      const pending = pool.map(cube, Array.from({ length: 2000 }, (_, i) => i), 1, { onProgress: (d) => (done = d) }).catch(() => 'rejected');
      await until('the first results', () => done > 0);
      // terminate() resolves once every worker has exited, and Node delivers a worker's last messages
      // before its 'exit': no late result can arrive after it.
      await pool.terminate();
      await pending;
      await new Promise((r) => setImmediate(r)); // a late result would fail in the next turn
    }
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

test('await using closes and joins the pool at the end of the scope', T, async () => {
  let escaped: mp.Pool;
  let pending: Promise<number>;
  {
    await using pool = new Pool(2);
    escaped = pool;
    pending = pool.apply(slow, [100, 7]);
    assert.equal(await pool.apply(cube, [3]), 27);
  }
  // The scope waited for the work: the task has finished already.
  const marker = Symbol('pending');
  assert.equal(await Promise.race([pending, Promise.resolve(marker)]), 7);
  await assert.rejects(escaped.apply(cube, [1]), /Pool not running/);
  await escaped.join();
});

test('no worker outlives the pool: a program that never closes its pool still exits by itself', { timeout: 40_000 }, async () => {
  const script = fileURLToPath(new URL('../fixtures/pool/unclosed.ts', import.meta.url));
  const r = await runTs(script, [], 25_000);
  assert.equal(r.signal, null, 'the program was still running after 25 s');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'result 27 1,8,27\n');
});

test('after join, the pool is finished: join and terminate resolve again', T, async () => {
  const pool = new Pool(2);
  assert.equal(await pool.apply(cube, [2]), 8);
  pool.close();
  await pool.join();
  await pool.terminate();
  await pool.join();
});

test('Ctrl-C (SIGINT) ends a program whose pool is busy, promptly', { timeout: 40_000, ...needsSharedMemory }, async () => {
  const { spawn } = await import('node:child_process');
  const script = fileURLToPath(new URL('../fixtures/pool/sigint.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (text: string) => text.includes('busy') && resolve());
      child.on('error', reject);
      child.on('close', () => reject(new Error('the child ended before it was busy')));
    });
    const closed = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
    const started = performance.now();
    child.kill('SIGINT');
    const [code, signal] = await closed;
    assert.ok(performance.now() - started < 10_000);
    assert.ok(signal === 'SIGINT' || code === 130, `code ${code} signal ${signal}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('a program that terminates its pool before handling the promises it got does not crash: each rejects where awaited', { timeout: 40_000 }, async () => {
  const script = fileURLToPath(new URL('../fixtures/pool/terminate-unhandled.ts', import.meta.url));
  const r = await runTs(script, [], 25_000);
  assert.equal(r.signal, null, 'the program was still running after 25 s');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${Array.from({ length: 7 }, () => 'ERR_MP_POOL_TERMINATED').join(' ')}\n`);
  assert.equal(r.stderr, '');
});
