// The distributed Semaphore and BoundedSemaphore against a real redis-server: the bound is never
// exceeded across processes, a release without an acquire signals, a dead holder's unit comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { BoundedSemaphore, Semaphore } from '../../src/distributed/sync/semaphore.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { stillPending, within } from '../fixtures/until.js';

const T = { timeout: 90_000 };
const server = await useRedis();
const { url } = server;

test('Semaphore(2): 5 holders in 3 processes never exceed 2 inside; every round done', T, async () => {
  const rounds = 40;
  const runs = await Promise.all(['blocking', 'async', 'async'].map((mode) => runTs(fixture('semaphore-worker.ts'), [url, String(rounds), mode], 80_000)));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const redis = new Redis(url);
  assert.equal(await redis.get('rounds'), String(5 * rounds));
  assert.ok(Number(await redis.get('most')) <= 2, `at most 2 inside, saw ${await redis.get('most')}`);
  assert.equal(await redis.get('inside'), '0');
  assert.equal(await new Semaphore({ url, namespace: 'semtest', name: 'slots' }, 2).getValueAsync(), 2);
  redis.disconnect();
});

test('Semaphore(0) as a signal: a release by a handle that holds nothing wakes an acquirer', T, async () => {
  const waiter = new Semaphore({ url, name: 'signal' }, 0);
  const signaller = new Semaphore({ url, name: 'signal' }, 0);
  assert.equal(await waiter.acquireAsync(20), false);
  const waiting = waiter.acquireAsync(10_000);
  assert.equal(await stillPending(waiting), true);
  await signaller.releaseAsync();
  assert.equal(await within(waiting, 'the acquire woken by the release'), true);
  assert.equal(await waiter.getValueAsync(), 0);
});

test('Semaphore: a holder that stops renewing gives its unit back when its lease ends', T, async () => {
  const redis = new Redis(url);
  const sem = new Semaphore({ url, name: 'dead' }, 1);
  assert.equal(await sem.getValueAsync(), 1);
  // What a dead holder leaves: the unit taken, a lease nobody renews.
  await redis.hset('mp:{default}:obj:semaphore:dead', 'value', 0);
  const now = Number((await redis.time())[0]) * 1000;
  await redis.zadd('mp:{default}:obj:semaphore:dead:holders', now + 300, 'dead-holder');
  assert.equal(await within(sem.acquireAsync(10_000), 'acquire after the lease'), true);
  await sem.releaseAsync();
  redis.disconnect();
});

test('BoundedSemaphore: a release past the initial value throws; the blocking forms', T, () => {
  const sem = new BoundedSemaphore({ url, name: 'bounded' }, 2);
  assert.equal(sem.acquire(), true);
  assert.equal(sem.acquire(), true);
  assert.equal(sem.acquire(false), false);
  assert.equal(sem.acquire(true, 30), false);
  assert.equal(sem.getValue(), 0);
  sem.release();
  sem.release();
  assert.throws(() => sem.release(), { code: 'ERR_MP_SEMAPHORE_OVER_RELEASED' });
  assert.equal(sem.getValue(), 2);
  assert.throws(() => new Semaphore({ url, name: 'x' }, -1), { code: 'ERR_MP_SEMAPHORE_VALUE' });
});

test('Semaphore: an aborted acquireAsync rejects with the reason and takes nothing', T, async () => {
  const sem = new Semaphore({ url, name: 'abort' }, 0);
  const controller = new AbortController();
  const waiting = sem.acquireAsync({ signal: controller.signal });
  assert.equal(await stillPending(waiting), true);
  controller.abort(new Error('cancelled'));
  await assert.rejects(waiting, /cancelled/);
  await sem.releaseAsync();
  assert.equal(await sem.getValueAsync(), 1);
});
