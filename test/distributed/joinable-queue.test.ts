// The distributed JoinableQueue's delivery when a consumer dies (issue 15): an item got by a consumer
// process that is SIGKILLed before its taskDone goes back to the queue when the consumer's lease ends,
// handed back by the next get or by a waiting join, so it is got again and join returns; a live
// consumer that holds an item longer than its lease keeps it (renewed, also while its thread is blocked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { JoinableQueue } from '../../src/distributed/queues/joinable-queue.js';
import { Empty, ShutDown } from '../../src/errors.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { spawn } from 'node:child_process';
import { stillPending, until, within } from '../fixtures/until.js';

const T = { timeout: 90_000 };
const LEASE = 500;
const server = await useRedis();
const { url } = server;
const namespace = 'joinabletest';

interface Consumer {
  /** The item it got. */
  readonly item: number;
  /** SIGKILLs it and waits for its exit. */
  kill(): Promise<void>;
  /** Its exit code and stdout, once it exited. */
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Starts queue-consumer.ts (holding its item `hold` ms, or until killed); resolves once it recorded
 * the item it got.
 */
async function startConsumer(name: string, mode: 'blocking' | 'async', hold?: number): Promise<Consumer> {
  const args = [url, name, String(LEASE), mode, ...(hold === undefined ? [] : [String(hold)])];
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fixture('queue-consumer.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  const redis = new Redis(url);
  let got: string | null = null;
  const poll = setInterval(() => void redis.get(`consumed:${name}`).then((value) => (got = value)), 10);
  try {
    await until('the consumer got an item', () => got !== null || child.exitCode !== null, 30_000);
  } finally {
    clearInterval(poll);
    redis.disconnect();
  }
  assert.notEqual(got, null, `the consumer exited first:\n${stderr}`);
  return {
    item: Number(got),
    exited,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

test('a consumer SIGKILLed between get and taskDone: its item is got again here after its lease; join returns', T, async () => {
  const q = new JoinableQueue<number>({ url, namespace, name: 'killed', lease: LEASE });
  for (let i = 0; i < 3; i++) await q.putAsync(i);
  const consumer = await startConsumer('killed', 'async');
  assert.equal(consumer.item, 0);
  await consumer.kill();
  const got: number[] = [];
  for (let i = 0; i < 3; i++) {
    got.push(await within(q.getAsync(10_000), `item ${i}`, 15_000));
    await q.taskDoneAsync();
  }
  assert.deepEqual(got, [1, 2, 0]);
  assert.equal(await within(q.joinAsync(5_000), 'join'), true);
  assert.equal(await q.qsizeAsync(), 0);
  await assert.rejects(q.getAsync(0), Empty);
});

test('a waiting join hands a dead consumer\'s item back to the queue (blocking get in the consumer)', T, async () => {
  const q = new JoinableQueue<number>({ url, namespace, name: 'join-reclaims', lease: LEASE });
  await q.putAsync(42);
  const consumer = await startConsumer('join-reclaims', 'blocking');
  assert.equal(consumer.item, 42);
  await consumer.kill();
  const joined = q.joinAsync(30_000);
  let size = 0;
  const poll = setInterval(() => void q.qsizeAsync().then((n) => (size = n)), 10);
  try {
    await until('join handed the item back', () => size === 1, 20_000);
  } finally {
    clearInterval(poll);
  }
  assert.equal(await q.getAsync(0), 42);
  await q.taskDoneAsync();
  assert.equal(await within(joined, 'join'), true);
});

for (const mode of ['async', 'blocking'] as const) {
  test(`a live consumer holding an item for 4 leases keeps it (${mode} forms): nobody else gets it; join returns`, T, async () => {
    const name = `held-${mode}`;
    const q = new JoinableQueue<number>({ url, namespace, name, lease: LEASE });
    await q.putAsync(7);
    const consumer = await startConsumer(name, mode, 4 * LEASE);
    assert.equal(consumer.item, 7);
    await assert.rejects(q.getAsync(3 * LEASE), Empty);
    const r = await within(consumer.exited, 'the consumer', 30_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'done');
    assert.equal(await within(q.joinAsync(5_000), 'join'), true);
    assert.equal(await q.qsizeAsync(), 0);
  });
}

test('JoinableQueue: a shutdown wakes waiting gets with ShutDown once drained; an aborted get leaves no item behind', T, async () => {
  const q = new JoinableQueue<number>({ url, namespace, name: 'shut', lease: LEASE });
  const other = new JoinableQueue<number>({ url, namespace, name: 'shut', lease: LEASE });
  const controller = new AbortController();
  const aborted = other.getAsync({ timeout: 20_000, signal: controller.signal });
  assert.equal(await stillPending(aborted), true);
  controller.abort(new Error('no longer needed'));
  await assert.rejects(aborted, /no longer needed/);
  await q.putAsync(1);
  assert.equal(await within(q.getAsync(5_000), 'the item the aborted get did not keep'), 1);
  await q.taskDoneAsync();
  const getters = [q.getAsync(20_000), other.getAsync(20_000), other.getAsync()];
  assert.equal(await stillPending(getters[0]!), true);
  await q.shutdownAsync();
  for (const getter of getters) await assert.rejects(within(getter, 'a getter woken by shutdown'), ShutDown);
  assert.equal(await within(q.joinAsync(5_000), 'join'), true);
});

test('a consumer cut off for longer than its lease: its item goes to another; its late taskDone does not count twice; lost is set', T, async () => {
  const slow = new JoinableQueue<number>({ url, namespace, name: 'late', lease: 100 });
  const other = new JoinableQueue<number>({ url, namespace, name: 'late', lease: 100 });
  await slow.putAsync(5);
  assert.equal(await slow.getAsync(5_000), 5);
  // This thread runs synchronous code for 3 leases: nothing renews the lease meanwhile.
  const end = performance.now() + 300;
  while (performance.now() < end);
  assert.equal(await within(other.getAsync(5_000), 'the item handed back'), 5);
  await other.taskDoneAsync();
  await slow.taskDoneAsync();
  assert.equal(slow.lost, true);
  assert.equal(other.lost, false);
  assert.equal(await within(slow.joinAsync(5_000), 'join'), true);
  await assert.rejects(other.taskDoneAsync(), { code: 'ERR_MP_TASK_DONE_TOO_MANY' });
});
