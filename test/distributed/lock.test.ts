// The distributed Lock and RLock against a real redis-server: mutual exclusion across processes with
// exact counts, fencing tokens, waiters woken by a release or by a dead holder's lease running out,
// aborts, the blocking forms, and a lock that Redis forgot reported as lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Lock } from '../../src/distributed/sync/lock.js';
import { RLock } from '../../src/distributed/sync/rlock.js';
import { Semaphore } from '../../src/distributed/sync/semaphore.js';
import { Queue } from '../../src/distributed/queues/queue.js';
import { Empty, TimeoutError } from '../../src/errors.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { until, within } from '../fixtures/until.js';

const T = { timeout: 60_000 };
const server = await useRedis();
const { url } = server;

test('Lock: mutual exclusion across 3 processes, exact count (blocking and async forms)', T, async () => {
  const rounds = 150;
  const runs = await Promise.all(['blocking', 'async', 'async'].map((mode) => runTs(fixture('lock-worker.ts'), [url, String(rounds), mode], 50_000)));
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${rounds} 0`);
  }
  const redis = new Redis(url);
  assert.equal(await redis.get('count'), String(3 * rounds));
  redis.disconnect();
});

test('Lock: fencing tokens grow; a second acquire waits, is woken by the release, and times out when not', T, async () => {
  const a = new Lock({ url, name: 'fence' });
  const b = new Lock({ url, name: 'fence' });
  const first = await a.acquireAsync();
  assert.equal(typeof first, 'number');
  assert.equal(a.fencingToken, first);
  assert.equal(await b.acquireAsync(50), false);
  assert.equal(await b.lockedAsync(), true);
  const waiting = b.acquireAsync(10_000);
  await a.releaseAsync();
  const second = await within(waiting, 'the waiter woken by the release');
  assert.ok(second !== false && first !== false && second > first, `${second} > ${first}`);
  assert.equal(a.fencingToken, undefined);
  await b.releaseAsync();
  assert.equal(await b.lockedAsync(), false);
});

test('Lock: the blocking forms (acquire, release, locked) through the helper thread', T, () => {
  const lock = new Lock({ url, name: 'blocking' });
  const other = new Lock({ url, name: 'blocking' });
  const token = lock.acquire();
  assert.equal(typeof token, 'number');
  assert.equal(other.acquire(false), false);
  assert.equal(other.acquire(true, 30), false);
  assert.equal(other.locked(), true);
  lock.release();
  assert.equal(other.locked(), false);
  assert.throws(() => lock.release(), { code: 'ERR_MP_LOCK_NOT_HELD' });
});

test('Lock: a holder that stops renewing (a dead process) frees the lock when its lease ends', T, async () => {
  const redis = new Redis(url);
  // What a dead holder leaves behind: the lock's hash with a lease nobody renews.
  await redis.hset('mp:{default}:obj:lock:dead', 'owner', 'someone-dead', 'count', 1, 'fence', 1);
  await redis.pexpire('mp:{default}:obj:lock:dead', 300);
  const lock = new Lock({ url, name: 'dead' });
  const token = await within(lock.acquireAsync(10_000), 'acquire after the dead holder lease');
  assert.notEqual(token, false);
  await lock.releaseAsync();
  redis.disconnect();
});

test('Lock: an aborted acquireAsync rejects with the reason and leaves the lock usable', T, async () => {
  const holder = new Lock({ url, name: 'abort' });
  const waiter = new Lock({ url, name: 'abort' });
  await holder.acquireAsync();
  const controller = new AbortController();
  const waiting = waiter.acquireAsync({ signal: controller.signal });
  controller.abort(new Error('stop waiting'));
  await assert.rejects(waiting, /stop waiting/);
  await holder.releaseAsync();
  assert.notEqual(await waiter.acquireAsync(5_000), false);
  await waiter.releaseAsync();
});

test('Lock: Redis restarted without persistence: the holder finds its lock lost, release says so', T, async (t) => {
  if (!server.owned) return t.skip('REDIS_URL is set: this test restarts redis-server');
  const lock = new Lock({ url, name: 'lost', lease: 300 });
  const before = (await lock.acquireAsync()) as number;
  await server.kill();
  await server.restart();
  await until('the renewal to notice the lost lock', () => lock.lost, 20_000);
  await assert.rejects(lock.releaseAsync(), { code: 'ERR_MP_LOCK_LOST', message: /was lost/ });
  // The lock is free again, and its tokens still grow after Redis forgot the counter.
  const again = new Lock({ url, name: 'lost' });
  const after = await within(again.acquireAsync(10_000), 'acquire after the restart');
  assert.ok(after !== false && after > before, `the token after the restart (${after}) is larger than before it (${before})`);
  await again.releaseAsync();
});

test('RLock: the holding handle re-enters; others wait until it released as many times', T, async () => {
  const mine = new RLock({ url, name: 'r' });
  const other = new RLock({ url, name: 'r' });
  const token = await mine.acquireAsync();
  assert.equal(await mine.acquireAsync(0), token);
  assert.equal(await other.acquireAsync(0), false);
  await mine.releaseAsync();
  assert.equal(await other.acquireAsync(0), false);
  await mine.releaseAsync();
  assert.notEqual(await other.acquireAsync(0), false);
  await other.releaseAsync();
});

test('Lock: a thread blocked in another object blocking call keeps the leases it holds (the helper renews them)', T, async () => {
  const lock = new Lock({ url, name: 'held-while-blocked', lease: 300 });
  const sem = new Semaphore({ url, name: 'held-while-blocked', lease: 300 }, 1);
  await lock.acquireAsync();
  await sem.acquireAsync();
  const queue = new Queue({ url, name: 'held-while-blocked' });
  // This thread's event loop (and its renewal timers) stop for 5 leases.
  assert.throws(() => queue.get(true, 1_500), Empty);
  const other = new Lock({ url, name: 'held-while-blocked' });
  assert.equal(await other.acquireAsync(0), false, 'the lock is still held');
  assert.equal(await new Semaphore({ url, name: 'held-while-blocked' }, 1).acquireAsync(0), false, 'the unit is still held');
  assert.equal(lock.lost, false);
  await lock.releaseAsync();
  await sem.releaseAsync();
});

test('Lock: withLock, withLockAsync (with a timeout) and await using guardAsync release on throw', T, async () => {
  const lock = new Lock({ url, name: 'scoped' });
  const other = new Lock({ url, name: 'scoped' });
  assert.throws(() => lock.withLock(() => { throw new Error('inside'); }), /inside/);
  assert.equal(await lock.lockedAsync(), false);
  await assert.rejects(lock.withLockAsync(async () => { throw new Error('inside async'); }), /inside async/);
  assert.equal(await lock.lockedAsync(), false);
  {
    await using _held = await lock.guardAsync();
    await assert.rejects(other.withLockAsync(() => 1, 20), { code: 'ERR_MP_TIMEOUT' });
  }
  assert.equal(await other.withLockAsync(() => 2), 2);
});

test('Lock: the holder renews its lease: held 5 leases long, no one else gets it meanwhile', T, async () => {
  const lock = new Lock({ url, name: 'renewed', lease: 200 });
  const token = await lock.acquireAsync();
  assert.equal(await new Lock({ url, name: 'renewed' }).acquireAsync(1_000), false);
  assert.equal(lock.lost, false);
  assert.equal(lock.fencingToken, token);
  await lock.releaseAsync();
});

test('Lock and RLock: guard() holds until the scope ends (blocking forms), also when the scope throws', T, async () => {
  const lock = new Lock({ url, name: 'guard' });
  const other = new Lock({ url, name: 'guard' });
  {
    using _ = lock.guard();
    assert.equal(typeof lock.fencingToken, 'number');
    assert.equal(other.acquire(false), false);
    assert.throws(() => other.guard(30), TimeoutError);
  }
  assert.equal(other.locked(), false);
  assert.throws(() => {
    using _ = lock.guard();
    throw new Error('boom');
  }, /boom/);
  assert.equal(other.locked(), false);
  // The local spelling of the async form: `using` (not `await using`) releases blocking.
  {
    using _ = await lock.guardAsync(1000);
    assert.equal(await other.acquireAsync(0), false);
  }
  assert.equal(await other.lockedAsync(), false);

  const rlock = new RLock({ url, name: 'rguard' });
  {
    using _outer = rlock.guard();
    using _inner = rlock.guard();
    assert.equal(new RLock({ url, name: 'rguard' }).acquire(false), false);
  }
  assert.equal(rlock.locked(), false);
});
