// The distributed Value and Array against a real redis-server: exact increments from several
// processes (atomic adds, and read-modify-writes under getLock()), typed-array wraparound and float
// semantics, creation once, the blocking forms, and a value Redis forgot reported, never read as zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '../../src/distributed/memory/value.js';
import { SharedArray } from '../../src/distributed/memory/array.js';
import { Queue } from '../../src/distributed/queues/queue.js';
import { RLock } from '../../src/distributed/sync/rlock.js';
import { TimeoutError } from '../../src/errors.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';

const T = { timeout: 90_000 };
const server = await useRedis();
const { url } = server;

test('Value: 3 processes add and lock-guarded increment; both counts exact', T, async () => {
  const rounds = 100;
  const runs = await Promise.all(['blocking', 'async', 'async'].map((mode) => runTs(fixture('value-worker.ts'), [url, String(rounds), mode], 80_000)));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.equal(await new Value({ url, namespace: 'valuetest', name: 'hits' }, 'i').getAsync(), 3 * rounds);
  assert.equal(await new Value({ url, namespace: 'valuetest', name: 'guarded' }, 'q').getAsync(), BigInt(3 * rounds));
});

test('Value: integers wrap as typed arrays do; 64-bit values stay exact; floats add as JavaScript does', T, async () => {
  const i32 = new Value({ url, name: 'i32' }, 'i', 2147483647);
  assert.equal(await i32.addAsync(1), -2147483648);
  const u8 = new Value({ url, name: 'u8' }, 'B', 250);
  assert.equal(await u8.addAsync(10), 4);
  const u64 = new Value({ url, name: 'u64' }, 'Q', 2n ** 64n - 1n);
  assert.equal(await u64.addAsync(1n), 0n);
  const i64 = new Value({ url, name: 'i64' }, 'q', 2n ** 60n);
  assert.equal(await i64.addAsync(1n), 2n ** 60n + 1n);
  const d = new Value({ url, name: 'd' }, 'd', 0.1);
  assert.equal(await d.addAsync(0.2), 0.1 + 0.2);
  const f = new Value({ url, name: 'f' }, 'f', 0.1);
  assert.equal(await f.addAsync(0.2), Math.fround(Math.fround(0.1) + 0.2));
  const c = new Value({ url, name: 'c' }, 'c', 'x');
  assert.equal(await c.getAsync(), 'x');
  await assert.rejects(c.addAsync('y' as never), { code: 'ERR_MP_VALUE_KIND' });
});

test('Value: created once: a later handle with another initial value finds it as it is', T, async () => {
  const first = new Value({ url, name: 'once' }, 'i', 5);
  assert.equal(await first.getAsync(), 5);
  const second = new Value({ url, name: 'once' }, 'i', 9);
  assert.equal(await second.getAsync(), 5);
  await second.setAsync(7);
  assert.equal(await first.getAsync(), 7);
});

test('Value: the blocking forms, also at once after the constructor', T, () => {
  const v = new Value({ url, name: 'blocking' }, 'd', 1.5);
  assert.equal(v.value, 1.5);
  v.value = 2.5;
  assert.equal(v.add(1), 3.5);
  assert.equal(v.value, 3.5);
});

test('Value: crosses a Queue as a handle to the same value, with the same lock', T, async () => {
  const v = new Value({ url, name: 'carried' }, 'i', 1);
  const q = new Queue<Value<'i'>>({ url, name: 'carrier' });
  await q.putAsync(v);
  const got = await q.getAsync(5_000);
  assert.ok(got instanceof Value);
  assert.equal(await got.addAsync(1), 2);
  assert.ok(got.getLock() instanceof RLock);
  assert.equal(got.getLock().name, v.getLock().name);
  assert.throws(() => new Value({ url, name: 'nolock' }, 'i', 0, { lock: false }).getLock(), { code: 'ERR_MP_NO_LOCK' });
});

test('Value and Array: after Redis restarted empty, reads and writes throw ERR_MP_OBJECT_LOST, never zero', T, async (t) => {
  if (!server.owned) return t.skip('REDIS_URL is set: this test restarts redis-server');
  const v = new Value({ url, name: 'forgotten' }, 'i', 42);
  const a = new SharedArray({ url, name: 'forgotten' }, 'i', 3);
  assert.equal(await v.getAsync(), 42);
  assert.deepEqual(await a.toArrayAsync(), [0, 0, 0]);
  await server.kill();
  await server.restart();
  const lost = { code: 'ERR_MP_OBJECT_LOST', message: /gone from Redis/ };
  // A connection notices the restart on its first command, which fails (ERR_MP_CONNECTION); a later one
  // reconnects. Each connection (this thread's, the blocking forms' helper's) is retried until it has.
  const retry = async (op: () => unknown): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await op();
        assert.fail('read a lost value');
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_MP_CONNECTION' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  await assert.rejects(retry(() => v.getAsync()), lost);
  await assert.rejects(v.addAsync(1), lost);
  await assert.rejects(v.setAsync(1), lost);
  await assert.rejects(a.getAsync(0), lost);
  await assert.rejects(a.toArrayAsync(), lost);
  await assert.rejects(retry(() => v.value), lost);
});

test('Array: by index and in bulk, atomic add, bounds checked', T, () => {
  const a = new SharedArray({ url, name: 'arr' }, 'h', [1, 2, 3, 4]);
  assert.equal(a.length, 4);
  assert.equal(a.get(2), 3);
  a.set(0, -5);
  assert.equal(a.add(3, 32767), -32765);
  a.setAll([7, 8], 1);
  assert.deepEqual(a.toArray(), [-5, 7, 8, -32765]);
  assert.throws(() => a.get(4), { code: 'ERR_MP_INVALID_ARG', message: /out of range/ });
  assert.throws(() => a.setAll([1, 2], 3), { code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => new SharedArray({ url, name: 'empty' }, 'i', 0), { code: 'ERR_MP_ARRAY_SIZE' });
  const big = new SharedArray({ url, name: 'big' }, 'Q', 2);
  assert.deepEqual(big.toArray(), [0n, 0n]);
  assert.equal(big.add(1, 2n ** 63n), 2n ** 63n);
});

test('Array: 100,000 doubles read with the blocking form (a result larger than the helper first holds)', T, () => {
  const values = Array.from({ length: 100_000 }, (_, i) => i / 7);
  const a = new SharedArray({ url, name: 'large' }, 'd', values);
  assert.deepEqual(a.toArray(), values);
});

test('Value: names with a colon are other objects than a name plus a key part', T, async () => {
  const plain = new Value({ url, name: 'v' }, 'i', 1);
  const colon = new Value({ url, name: 'v:lock' }, 'i', 2);
  assert.deepEqual([await plain.getAsync(), await colon.getAsync()], [1, 2]);
  assert.notEqual(plain.getLock().name, colon.name);
  assert.notEqual(await plain.getLock().acquireAsync(0), false);
  assert.notEqual(await colon.getLock().acquireAsync(0), false, 'another lock');
  await plain.getLock().releaseAsync();
  await colon.getLock().releaseAsync();
});

test('Value and Array: the local lock methods (acquire, release, guard, withLock and async forms) hold getLock()', T, async () => {
  const v = new Value({ url, name: 'locked' }, 'i', 0);
  const other = new Value({ url, name: 'locked' }, 'i');
  {
    using _ = v.guard();
    assert.equal(other.acquire(false), false);
    assert.throws(() => other.guard(30), TimeoutError);
    v.value = v.value + 1;
  }
  const token = other.acquire(false);
  assert.equal(typeof token, 'number');
  assert.equal(other.getLock().fencingToken, token);
  other.release();
  assert.equal(v.withLock(() => (v.value += 1)), 2);
  assert.equal(await v.withLockAsync(async () => v.setAsync((await v.getAsync()) + 1)), undefined);
  {
    await using _ = await v.guardAsync();
    assert.equal(await other.acquireAsync(0), false);
  }
  assert.notEqual(await other.acquireAsync(0), false);
  await other.releaseAsync();
  assert.equal(await other.getAsync(), 3);

  const a = new SharedArray({ url, name: 'locked-array' }, 'i', 2);
  const b = new SharedArray({ url, name: 'locked-array' }, 'i', 2);
  {
    using _ = a.guard();
    assert.equal(await b.acquireAsync(0), false);
  }
  assert.equal(b.withLock(() => b.add(0, 1)), 1);
  assert.throws(() => new Value({ url, name: 'unlocked' }, 'i', 0, { lock: false }).guard(), { code: 'ERR_MP_NO_LOCK' });
});
