// The distributed Pool's failure contract, against a real redis-server and worker commands: a worker
// killed mid-task (re-run once, exact count; a second loss is WorkerLostError), terminate and abort
// (waiting jobs removed, running ones cancelled), an unreachable URL, a wrong authkey, an unknown task,
// no worker on the namespace (a timeout settles, the pool says so once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AuthenticationError, ConnectionError, Pool, TimeoutError, UnknownTaskError, WorkerLostError } from '../../src/distributed/index.js';
import { noWorker } from '../../src/distributed/executor.js';
import { killWorker, startedBy, startWorker, type TestWorker, useCluster } from '../fixtures/distributed/cluster.js';
import { cube, holdUntilReleased } from '../fixtures/distributed/tasks.js';
import { square } from '../fixtures/distributed/other-tasks.js';
import { stillPending, until, within } from '../fixtures/until.js';

const T = { timeout: 120_000 };
const LEASE = 1_000; // the workers' --lost-task-timeout here

const { redis, dir } = await useCluster('failures');


function workerWithPid(workers: readonly TestWorker[], pid: number): TestWorker {
  const found = workers.find((worker) => worker.pid === pid);
  assert.ok(found, `no worker has pid ${pid}`);
  return found;
}

async function queueCounts(namespace: string): Promise<Record<string, number>> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('tasks', { connection, prefix: `mp:{${namespace}}` });
  try {
    return await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

test('a worker killed mid-task: the task runs once more elsewhere, and resolves once', T, async () => {
  const namespace = 'lost-once';
  const runs = mkdtempSync(join(dir, 'once-'));
  const workers = await Promise.all([1, 2].map(() => startWorker({ url: redis.url, namespace, lostTaskTimeout: LEASE })));
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const result = pool.apply(holdUntilReleased, [runs, 'k']);
    await until('the task started', () => startedBy(runs, 'k').length === 1, 30_000);
    const [first] = startedBy(runs, 'k');
    await killWorker(workerWithPid(workers, first!));
    await until('the task started again on the other worker', () => startedBy(runs, 'k').length === 2, 30_000);
    writeFileSync(join(runs, 'release'), '');
    assert.equal(await within(result, 'the re-run task', 30_000), 'k');
    const pids = startedBy(runs, 'k');
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    assert.deepEqual(await queueCounts(namespace), { waiting: 0, active: 0, delayed: 0, prioritized: 0 });
  } finally {
    await pool.terminate();
  }
});

test('a task whose workers are killed twice rejects with WorkerLostError', T, async () => {
  const namespace = 'lost-twice';
  const runs = mkdtempSync(join(dir, 'twice-'));
  const workers = await Promise.all([1, 2, 3].map(() => startWorker({ url: redis.url, namespace, lostTaskTimeout: LEASE })));
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const result = pool.apply(holdUntilReleased, [runs, 'k']);
    result.catch(() => {});
    await until('the task started', () => startedBy(runs, 'k').length === 1, 30_000);
    await killWorker(workerWithPid(workers, startedBy(runs, 'k')[0]!));
    await until('the task started again', () => startedBy(runs, 'k').length === 2, 30_000);
    await killWorker(workerWithPid(workers, startedBy(runs, 'k')[1]!));
    const error = await within(result, 'the rejection after a second loss', 30_000).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkerLostError, String(error));
    assert.equal(error.code, 'ERR_MP_WORKER_LOST');
    assert.match(error.message, /lost twice/);
    assert.equal(startedBy(runs, 'k').length, 2);
  } finally {
    await pool.terminate();
  }
});

test('terminate() rejects every task, removes the waiting jobs and stops the running ones', T, async () => {
  const namespace = 'terminate';
  const runs = mkdtempSync(join(dir, 'terminate-'));
  await startWorker({ url: redis.url, namespace });
  const pool = new Pool({ url: redis.url, namespace });
  const results = ['a', 'b', 'c', 'd'].map((tag) => pool.apply(holdUntilReleased, [runs, tag]));
  await until('the first task started', () => startedBy(runs, 'a').length === 1, 30_000);
  await pool.terminate();
  for (const result of results) await assert.rejects(result, { code: 'ERR_MP_POOL_TERMINATED' });
  // Nothing was released: the worker is free again only because its task was cancelled.
  const next = new Pool({ url: redis.url, namespace });
  try {
    assert.equal(await within(next.apply(cube, [2]), 'a task after terminate', 30_000), 8);
    assert.deepEqual(await queueCounts(namespace), { waiting: 0, active: 0, delayed: 0, prioritized: 0 });
    assert.equal(existsSync(join(runs, 'release')), false);
    assert.deepEqual(startedBy(runs, 'c'), []);
    assert.deepEqual(startedBy(runs, 'd'), []);
  } finally {
    await next.terminate();
  }
});

test('an aborted signal rejects at once and cancels the running task', T, async () => {
  const namespace = 'abort';
  const runs = mkdtempSync(join(dir, 'abort-'));
  await startWorker({ url: redis.url, namespace });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const controller = new AbortController();
    const result = pool.apply(holdUntilReleased, [runs, 'a'], { signal: controller.signal });
    await until('the task started', () => startedBy(runs, 'a').length === 1, 30_000);
    controller.abort(new Error('no longer needed'));
    await assert.rejects(result, { message: 'no longer needed' });
    assert.equal(await within(pool.apply(cube, [3]), 'a task after the abort', 30_000), 27);
  } finally {
    await pool.terminate();
  }
});

test('a cancelled task stops its thread; a task that thread held beside it runs again and resolves', T, async () => {
  const namespace = 'abort-beside';
  const runs = mkdtempSync(join(dir, 'abort-beside-'));
  // One thread, two jobs at once (the command's default concurrency): the second is pipelined
  // behind the first on that thread.
  await startWorker({ url: redis.url, namespace, processes: 1 });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const controller = new AbortController();
    const held = pool.apply(holdUntilReleased, [runs, 'a'], { signal: controller.signal });
    const beside = pool.apply(cube, [4]);
    await until('the held task started', () => startedBy(runs, 'a').length === 1, 30_000);
    controller.abort(new Error('cancelled'));
    await assert.rejects(held, { message: 'cancelled' });
    assert.equal(await within(beside, 'the task beside the cancelled one', 30_000), 64);
  } finally {
    await pool.terminate();
  }
});

test('an unreachable URL rejects with ConnectionError naming it', T, async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const pool = new Pool({ url: `redis://127.0.0.1:${port}` });
  const error = await within(pool.apply(cube, [2]), 'the rejection').then(
    () => assert.fail('should reject'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionError);
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  await assert.rejects(pool.apply(cube, [2]), ConnectionError);
  await within(pool.terminate(), 'terminate');
});

test('a wrong or missing authkey rejects with AuthenticationError; the right one works', T, async () => {
  const namespace = 'authkey';
  const keyFile = join(dir, 'authkey');
  writeFileSync(keyFile, 'right key\n');
  await startWorker({ url: redis.url, namespace, authkeyFile: keyFile });
  for (const authkey of ['wrong key', undefined]) {
    const pool = new Pool({ url: redis.url, namespace, ...(authkey && { authkey }) });
    try {
      await assert.rejects(within(pool.apply(cube, [2]), 'rejection'), AuthenticationError);
    } finally {
      await pool.terminate();
    }
  }
  const pool = new Pool({ url: redis.url, namespace, authkey: 'right key' });
  try {
    assert.equal(await within(pool.apply(cube, [2]), 'signed task'), 8);
  } finally {
    await pool.terminate();
  }
});

test('a task no worker imports rejects with the --import fix', T, async () => {
  const namespace = 'unknown';
  await startWorker({ url: redis.url, namespace });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    await assert.rejects(within(pool.apply(square, [2]), 'rejection'), {
      constructor: UnknownTaskError,
      name: 'UnknownTaskError',
      code: 'ERR_MP_UNKNOWN_TASK',
      // A TypeScript module: the command that serves it loads tsx.
      message: new RegExp(
        `Start the workers with: node --import tsx node_modules/\\.bin/multiprocessing worker --url ${redis.url} --namespace unknown --import \\./test/fixtures/distributed/other-tasks\\.ts$`,
      ),
    });
  } finally {
    await pool.terminate();
  }
});

test('a driver run by tsx names the TypeScript source of the module the workers serve built: the error says both fixes', T, async () => {
  const namespace = 'built-tasks';
  await startWorker({ url: redis.url, namespace, imports: ['./test/fixtures/distributed/tasks.mjs'] });
  const pool = new Pool({ url: redis.url, namespace });
  try {
    await assert.rejects(within(pool.apply(cube, [2]), 'rejection'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_MP_UNKNOWN_TASK');
      assert.ok(error.message.includes('--import ./test/fixtures/distributed/tasks.ts; or have the driver name the module these workers serve'), error.message);
      assert.ok(error.message.includes("pass { module: './test/fixtures/distributed/tasks.mjs', name } to the pool"), error.message);
      return true;
    });
  } finally {
    await pool.terminate();
  }
});

test('no worker on the namespace: a timeout settles the task, naming the namespace and the command; the pool says so once', T, async () => {
  const namespace = 'nobody-here';
  const notices: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    if (String(chunk).includes('no worker has served')) notices.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  noWorker.noticeMs = 500;
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const command = `npx multiprocessing worker --url ${redis.url} --namespace ${namespace} --import ./test/fixtures/distributed/tasks.ts`;
    await assert.rejects(within(pool.apply(cube, [2], { timeout: 300 }), 'a timed task with no worker'), (error: Error) => {
      assert.ok(error instanceof TimeoutError, String(error));
      assert.match(error.message, /did not start within its timeout of 300 ms: no worker has served namespace 'nobody-here'/);
      assert.ok(error.message.includes(command.replace('npx multiprocessing', 'node --import tsx node_modules/.bin/multiprocessing')), error.message);
      return true;
    });
    // Without a timeout, tasks wait for a worker (they may start later), and the pool says so, once.
    const waiting = pool.map(cube, [1, 2, 3]);
    await until('the no-worker notice', () => notices.length > 0);
    assert.match(notices[0]!, new RegExp(`waiting, and for 1 s no worker has served namespace '${namespace}' at ${redis.url}`));
    await startWorker({ url: redis.url, namespace });
    assert.deepEqual(await within(waiting, 'the map, once a worker serves', 30_000), [1, 8, 27]);
    assert.equal(notices.length, 1, notices.join(''));
  } finally {
    process.stderr.write = write;
    noWorker.noticeMs = 10_000;
    await pool.terminate();
  }
});

test('with busy workers, a task timeout counts from its start: a timed task queued behind a long one runs', T, async () => {
  const namespace = 'busy';
  const runs = mkdtempSync(join(dir, 'busy-'));
  await startWorker({ url: redis.url, namespace });
  const pool = new Pool({ url: redis.url, namespace, processes: 2 });
  try {
    const long = pool.apply(holdUntilReleased, [runs, 'long']);
    await until('the long task started', () => startedBy(runs, 'long').length === 1, 30_000);
    const timed = pool.apply(cube, [3], { timeout: 300 });
    // An absence to observe: past its timeout and three reconciliations (a second apart), which see the
    // worker alive, the timed task still waits for its turn.
    await delay(3_000);
    assert.ok(await stillPending(timed), 'the timed task must wait for its turn');
    writeFileSync(join(runs, 'release'), '');
    assert.equal(await within(long, 'the long task'), 'long');
    assert.equal(await within(timed, 'the timed task'), 27);
  } finally {
    await pool.terminate();
  }
});
