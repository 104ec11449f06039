// The distributed Event against a real redis-server: a set wakes waiters in other processes and here;
// clear, timeouts, aborts; and abandoned waits on distributed objects do not keep a program alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Event } from '../../src/distributed/sync/event.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { stillPending, until, within } from '../fixtures/until.js';

const T = { timeout: 90_000 };
const server = await useRedis();
const { url } = server;

test('Event: set() wakes 2 waiting processes (blocking wait) and a waiter here', T, async () => {
  const event = new Event({ url, namespace: 'eventtest', name: 'go' });
  const children = [runTs(fixture('event-waiter.ts'), [url], 60_000), runTs(fixture('event-waiter.ts'), [url], 60_000)];
  const here = event.waitAsync(30_000);
  const redis = new Redis(url);
  let waiting = 0;
  const poll = setInterval(() => void redis.get('waiting').then((n) => (waiting = Number(n))), 10);
  await until('both children about to wait', () => waiting === 2, 30_000);
  clearInterval(poll);
  redis.disconnect();
  assert.equal(await stillPending(here), true);
  await event.setAsync();
  assert.equal(await within(here, 'the waiter here'), true);
  for (const r of await Promise.all(children)) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true');
  }
});

test('Event: isSet, clear, a wait that times out, the blocking forms', T, async () => {
  const event = new Event({ url, name: 'flag' });
  assert.equal(await event.isSetAsync(), false);
  assert.equal(await event.waitAsync(30), false);
  event.set();
  assert.equal(event.isSet(), true);
  assert.equal(event.wait(), true);
  event.clear();
  assert.equal(await event.isSetAsync(), false);
  assert.equal(event.wait(30), false);
});

test('Event: an aborted waitAsync rejects with the reason', T, async () => {
  const event = new Event({ url, name: 'abort' });
  const controller = new AbortController();
  const waiting = event.waitAsync({ signal: controller.signal });
  assert.equal(await stillPending(waiting), true);
  controller.abort(new Error('gave up'));
  await assert.rejects(waiting, /gave up/);
  await event.setAsync();
  assert.equal(await event.waitAsync(1_000), true);
});

test('abandoned waits with no deadline on distributed objects do not keep a program alive; timed ones do', T, async () => {
  const r = await runTs(fixture('abandon.ts'), [url], 30_000);
  assert.equal(r.signal, null, `still running after 30 s; output so far:\n${r.stdout}`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'Queue.getAsync timer',
    'JoinableQueue.joinAsync timer',
    'Event.waitAsync timer',
    'Barrier.waitAsync timer',
    'Semaphore.acquireAsync timer',
    'timed Event.waitAsync false',
    'end of script',
  ]);
});

test('Event: Redis gone: a bounded waitAsync rejects with ConnectionError, never hangs', T, async (t) => {
  if (!server.owned) return t.skip('REDIS_URL is set: this test kills redis-server');
  await server.kill();
  try {
    await assert.rejects(within(new Event({ url, name: 'outage' }).waitAsync(500), 'the wait during the outage', 20_000), { code: 'ERR_MP_CONNECTION' });
  } finally {
    await server.restart();
  }
});
