// The distributed Queue and JoinableQueue against a real redis-server: items from several processes
// delivered exactly once, maxsize, rich values and shared objects inside items, the blocking forms,
// shutdown, aborts, and join.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from '../../src/distributed/queues/queue.js';
import { JoinableQueue } from '../../src/distributed/queues/joinable-queue.js';
import { Lock } from '../../src/distributed/sync/lock.js';
import { Value as LocalValue } from '../../src/memory/value.js';
import { Empty, Full, ShutDown } from '../../src/errors.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { stillPending, within } from '../fixtures/until.js';

const T = { timeout: 90_000 };
const server = await useRedis();
const { url } = server;

test('Queue: 10,000 items from 3 producer processes, each got exactly once by 2 consumers', T, async () => {
  const counts = [3334, 3333, 3333];
  const q = new Queue<{ p: number; i: number }>({ url, namespace: 'queuetest', name: 'many' });
  const producers = counts.map((n, p) => runTs(fixture('queue-producer.ts'), [url, 'many', String(p), String(n), p === 0 ? 'blocking' : 'async'], 80_000));
  const seen = counts.map((n) => new Uint8Array(n));
  let got = 0;
  const consume = async (): Promise<void> => {
    while (got < 10_000) {
      let item: { p: number; i: number };
      try {
        item = await q.getAsync(200);
      } catch (error) {
        if (error instanceof Empty) continue;
        throw error;
      }
      got += 1;
      seen[item.p]![item.i]! += 1;
    }
  };
  await within(Promise.all([consume(), consume()]), 'all 10,000 items', 80_000);
  for (const r of await Promise.all(producers)) assert.equal(r.code, 0, r.stderr);
  assert.equal(got, 10_000);
  for (const marks of seen) assert.ok(marks.every((m) => m === 1), 'every item exactly once');
  assert.equal(await q.qsizeAsync(), 0);
});

test('Queue: Map, Set, bigint and typed arrays arrive intact; a distributed Lock arrives as a handle', T, async () => {
  const q = new Queue({ url, name: 'values' });
  const lock = new Lock({ url, name: 'carried' });
  await q.putAsync({ m: new Map([[1n, new Set(['a'])]]), f: new Float64Array([1.5]), lock });
  const item = (await q.getAsync(5_000)) as { m: Map<bigint, Set<string>>; f: Float64Array; lock: Lock };
  assert.deepEqual(item.m, new Map([[1n, new Set(['a'])]]));
  assert.deepEqual(item.f, new Float64Array([1.5]));
  assert.ok(item.lock instanceof Lock);
  assert.equal(item.lock.name, 'carried');
  const token = await item.lock.acquireAsync(1_000);
  assert.notEqual(token, false);
  assert.equal(await lock.acquireAsync(0), false, 'the revived handle holds the same lock');
  await item.lock.releaseAsync();
});

test('Queue: a shared object of one machine is refused, naming the path and the fix', T, async () => {
  const q = new Queue({ url, name: 'refused' });
  await assert.rejects(q.putAsync({ counter: new LocalValue('i', 0) }), {
    code: 'ERR_MP_UNCLONEABLE',
    message: /item\.counter .*multiprocessing\/distributed/,
  });
});

test('Queue: maxsize: a put waits for room, is woken by a get, and times out with Full', T, async () => {
  const q = new Queue<number>({ url, name: 'bounded' }, 2);
  await q.putAsync(1);
  assert.equal(await q.fullAsync(), false);
  await q.putAsync(2);
  assert.equal(await q.fullAsync(), true);
  await assert.rejects(q.putAsync(3, 50), Full);
  const waiting = q.putAsync(3, 10_000);
  assert.equal(await stillPending(waiting), true);
  assert.equal(await q.getAsync(), 1);
  await within(waiting, 'the put woken by the get');
  assert.deepEqual([await q.getAsync(), await q.getAsync()], [2, 3]);
  assert.equal(await q.emptyAsync(), true);
  await assert.rejects(q.getAsync(0), Empty);
});

test('Queue: the blocking forms (put, get, qsize, getNowait) through the helper thread', T, () => {
  const q = new Queue<string>({ url, name: 'blocking' }, 1);
  q.put('a');
  assert.equal(q.qsize(), 1);
  assert.equal(q.full(), true);
  assert.throws(() => q.put('b', true, 30), Full);
  assert.equal(q.get(), 'a');
  assert.equal(q.empty(), true);
  assert.throws(() => q.getNowait(), Empty);
  assert.throws(() => q.get(true, 30), Empty);
});

test('Queue: an aborted getAsync rejects with the reason and takes no item', T, async () => {
  const q = new Queue<number>({ url, name: 'abort' });
  const controller = new AbortController();
  const waiting = q.getAsync({ signal: controller.signal });
  assert.equal(await stillPending(waiting), true);
  controller.abort(new Error('no longer needed'));
  await assert.rejects(waiting, /no longer needed/);
  await q.putAsync(7);
  assert.equal(await q.getAsync(5_000), 7);
});

test('Queue: shutdown wakes every waiting getter with ShutDown once drained, and refuses puts', T, async () => {
  const q = new Queue<number>({ url, name: 'shut' });
  await q.putAsync(1);
  const other = new Queue<number>({ url, name: 'shut' });
  assert.equal(await q.getAsync(), 1);
  const getters = [q.getAsync(20_000), other.getAsync(20_000), other.getAsync(20_000)];
  assert.equal(await stillPending(getters[0]!), true);
  await q.shutdownAsync();
  for (const getter of getters) await assert.rejects(within(getter, 'a getter woken by shutdown'), ShutDown);
  await assert.rejects(q.putAsync(2), ShutDown);
  assert.equal(await other.isShutDownAsync(), true);
});

test('JoinableQueue: join waits for every taskDone; one too many throws', T, async () => {
  const q = new JoinableQueue<number>({ url, name: 'joinable' });
  for (let i = 0; i < 3; i++) await q.putAsync(i);
  assert.equal(await q.joinAsync(30), false);
  const joined = q.joinAsync(20_000);
  for (let i = 0; i < 3; i++) {
    assert.equal(await stillPending(joined), true);
    await q.getAsync();
    await q.taskDoneAsync();
  }
  assert.equal(await within(joined, 'join after 3 taskDone'), true);
  await assert.rejects(q.taskDoneAsync(), { code: 'ERR_MP_TASK_DONE_TOO_MANY' });
  assert.equal(q.join(1_000), true);
});

test('Queue: for await yields items until the queue is shut down and drained', T, async () => {
  const q = new Queue<number>({ url, name: 'iterate' });
  for (let i = 0; i < 3; i++) await q.putAsync(i);
  await q.shutdownAsync();
  const got: number[] = [];
  for await (const item of q) got.push(item);
  assert.deepEqual(got, [0, 1, 2]);
});

test('Queue: Redis gone during a bounded getAsync: it rejects with ConnectionError naming the URL, never hangs', T, async (t) => {
  if (!server.owned) return t.skip('REDIS_URL is set: this test kills redis-server');
  const q = new Queue<number>({ url, name: 'outage' });
  const waiting = q.getAsync(1_000);
  assert.equal(await stillPending(waiting), true);
  await server.kill();
  await assert.rejects(within(waiting, 'the wait during the outage', 20_000), { code: 'ERR_MP_CONNECTION', message: new RegExp(url.replace(/[/.]/g, '\\$&')) });
  await assert.rejects(q.putAsync(1), { code: 'ERR_MP_CONNECTION' });
  await server.restart();
});
