// The distributed Pool against a real redis-server and worker commands: the local Pool's API, results
// exact and in order, values intact, errors with their class and cause, functions named, never shipped.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from '../../src/distributed/index.js';
import { startWorker, TASKS, useCluster } from '../fixtures/distributed/cluster.js';
import { add, cube, echo, failWithCause, holdUntilReleased, isOdd, negate } from '../fixtures/distributed/tasks.js';
import { Lock, TimeoutError, Value } from '../../src/distributed/index.js';
import { bumpLocked } from '../fixtures/distributed/object-tasks.js';
import { within } from '../fixtures/until.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const T = { timeout: 120_000 };
const namespace = 'pool';

const { redis, dir } = await useCluster('pool');

before(async () => {
  await Promise.all([startWorker({ url: redis.url, namespace, processes: 2 }), startWorker({ url: redis.url, namespace, processes: 2 })]);
});

test('apply, applyAsync, starmap and map run on the workers', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  try {
    assert.equal(await within(pool.apply(cube, [3]), 'apply'), 27);
    assert.equal(await within(pool.applyAsync(add, [2, 5]).get(), 'applyAsync'), 7);
    assert.deepEqual(await within(pool.starmap(add, [[1, 2], [3, 4]]), 'starmap'), [3, 7]);
    assert.deepEqual(await within(pool.map(cube, [1, 2, 3]), 'map'), [1, 8, 27]);
    assert.deepEqual(await within(pool.map({ module: TASKS, name: 'cube' }, [4]), 'map by reference'), [64]);
  } finally {
    pool.close();
    await within(pool.join(), 'join');
  }
});

test('map over 200,000 items: exact and in order', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    const results = await within(pool.map(cube, items), 'map of 200,000', 60_000);
    assert.equal(results.length, 200_000);
    for (let i = 0; i < items.length; i++) if (results[i] !== i * i * i) assert.fail(`results[${i}] is ${results[i]}`);
  } finally {
    await pool.terminate();
  }
});

test('maps of 200,000 numbers whose results are booleans or int32: exact, chunk after chunk', T, async () => {
  // Such results are written over the chunk's own buffer in a worker. A chunk that the cluster decoded
  // is a view into its message's buffer, shared with the other chunks of that message: written over and
  // moved, it emptied them (TypeError: reading 'buffer'), and reused by the driver it corrupted them.
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    for (let round = 0; round < 2; round++) {
      const odd = await within(pool.map(isOdd, items), 'map of isOdd', 60_000);
      for (let i = 0; i < items.length; i++) if (odd[i] !== (i % 2 === 1)) assert.fail(`odd[${i}] is ${odd[i]}`);
      const negated = await within(pool.map(negate, items), 'map of negate', 60_000);
      for (let i = 0; i < items.length; i++) if (negated[i] !== -i) assert.fail(`negated[${i}] is ${negated[i]}`);
    }
  } finally {
    await pool.terminate();
  }
});

test('Map, Set, bigint and typed arrays travel intact', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const value = { m: new Map([[1n, new Set(['a'])]]), f: new Float64Array([0.5]), d: new Date(7) };
    const back = await within(pool.apply(echo, [value]), 'echo');
    assert.deepEqual(back, value);
    assert.ok(back.f instanceof Float64Array);
  } finally {
    await pool.terminate();
  }
});

test('a task that throws is not retried, and rejects with its class, code and cause', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  const runs = mkdtempSync(join(dir, 'throws-'));
  try {
    const error = await within(pool.apply(failWithCause, [runs]), 'a failing task').then(
      () => assert.fail('should reject'),
      (e: unknown) => e as Error & { cause?: Error & { code?: string } },
    );
    assert.ok(error instanceof TypeError);
    assert.equal(error.message, 'outer failure');
    assert.equal(error.cause?.message, 'quota exceeded');
    assert.equal(error.cause?.name, 'Error');
    assert.equal(error.cause?.code, 'E_QUOTA');
    // The pool goes on, and the task ran exactly once.
    assert.equal(await within(pool.apply(cube, [2]), 'apply after'), 8);
    assert.equal(readdirSync(runs).length, 1);
  } finally {
    await pool.terminate();
  }
});

test('functions not exported by a module are refused at the call, with the reason', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const local = (x: number) => x + 1;
    await assert.rejects(pool.apply(local, [1]), { code: 'ERR_MP_FUNCTION_UNSENDABLE', message: /never shipped as code/ });
    await assert.rejects(pool.map(local, [1]), { code: 'ERR_MP_FUNCTION_UNSENDABLE' });
  } finally {
    await pool.terminate();
  }
});

test('timeout: a task that runs too long rejects with TimeoutError, and its worker runs the next task', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  const runs = mkdtempSync(join(dir, 'timeout-'));
  try {
    await assert.rejects(within(pool.apply(holdUntilReleased, [runs, 't'], { timeout: 200 }), 'the timeout'), TimeoutError);
    assert.deepEqual(await within(pool.map(cube, [1, 2, 3, 4, 5]), 'map after'), [1, 8, 27, 64, 125]);
  } finally {
    await pool.terminate();
  }
});

test('stats() counts completed and failed tasks', T, async () => {
  const pool = new Pool({ url: redis.url, namespace, processes: 3 });
  try {
    await within(Promise.all([pool.apply(cube, [1]), pool.apply(cube, [2])]), 'two tasks');
    await assert.rejects(pool.apply(failWithCause, [mkdtempSync(join(dir, 'stats-'))]));
    const stats = pool.stats();
    assert.equal(stats.completed, 2);
    assert.equal(stats.failed, 1);
    assert.equal(stats.running, 0);
    assert.equal(stats.queued, 0);
    assert.equal(stats.workers.total, 3);
  } finally {
    await pool.terminate();
  }
});

test('a script that ends with close() and await join() stays alive until join() settles, then exits 0', T, () => {
  // The pool's idle connections do not hold the program; while join() closes them, they must.
  const script = fileURLToPath(new URL('../fixtures/distributed/close-and-join.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', script, redis.url, namespace], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `exit ${run.status} (13: join() never settled)\n${run.stdout}${run.stderr}`);
  assert.equal(run.stdout, '[1,8,27]\njoined\n');
});

test('a distributed Lock and Value passed to tasks on 3 worker processes: mutual exclusion, exact count', T, async () => {
  const lockspace = 'objects';
  const imports = ['./test/fixtures/distributed/object-tasks.ts'];
  await Promise.all([1, 2, 3].map(() => startWorker({ url: redis.url, namespace: lockspace, imports })));
  const lock = new Lock({ url: redis.url, name: 'pool-lock' });
  const value = new Value({ url: redis.url, name: 'pool-counter' }, 'i', 0);
  const pool = new Pool({ url: redis.url, namespace: lockspace, processes: 6 });
  try {
    const tokens = await within(pool.starmap(bumpLocked, Array.from({ length: 60 }, () => [lock, value] as [Lock, Value<'i'>]), 1), 'the bumps', 60_000);
    assert.equal(await value.getAsync(), 60);
    assert.equal(new Set(tokens).size, 60, 'every hold had its own fencing token');
  } finally {
    await pool.terminate();
  }
});
