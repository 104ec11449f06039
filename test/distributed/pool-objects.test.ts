// Distributed shared objects as arguments of the distributed Pool's tasks: they cross as their names and
// are rebuilt on the worker machines (whose local pools hand them on to their threads); a shared object
// of one machine is refused at the call, naming the path and the fix.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lock, Pool, Value } from '../../src/distributed/index.js';
import { Value as LocalValue } from '../../src/memory/value.js';
import { startWorker, TASKS, useCluster } from '../fixtures/distributed/cluster.js';
import { addTimes, bumpLocked } from '../fixtures/distributed/object-tasks.js';
import { within } from '../fixtures/until.js';

const T = { timeout: 180_000 };
const namespace = 'objects';
const OBJECT_TASKS = './test/fixtures/distributed/object-tasks.ts';

const { redis } = await useCluster('objects');

before(async () => {
  const imports = [TASKS, OBJECT_TASKS];
  await Promise.all([startWorker({ url: redis.url, namespace, processes: 2, imports }), startWorker({ url: redis.url, namespace, processes: 2, imports })]);
});

test('a distributed Value given to 8 tasks on 2 worker machines: 8 × 25 atomic adds, exact', T, async () => {
  const value = new Value({ url: redis.url, namespace, name: 'hits' }, 'i', 0);
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const done = await within(pool.starmap(addTimes, Array.from({ length: 8 }, () => [value, 25] as [Value<'i'>, number]), 1), 'the tasks', 90_000);
    assert.deepEqual(done, new Array(8).fill(25));
    assert.equal(await value.getAsync(), 200);
  } finally {
    pool.close();
    await pool.join();
  }
});

test('a distributed Lock and Value given to tasks: each bump under the lock, fencing tokens all distinct', T, async () => {
  const lock = new Lock({ url: redis.url, namespace, name: 'ledger' });
  const value = new Value({ url: redis.url, namespace, name: 'ledger' }, 'i', 0);
  const pool = new Pool({ url: redis.url, namespace });
  try {
    const tokens = await within(pool.starmap(bumpLocked, Array.from({ length: 6 }, () => [lock, value] as [Lock, Value<'i'>]), 1), 'the tasks', 90_000);
    assert.equal(new Set(tokens).size, 6);
    assert.equal(await value.getAsync(), 6);
  } finally {
    pool.close();
    await pool.join();
  }
});

test('a Value of one machine given to a task is refused at the call, naming the path and the fix', T, async () => {
  const pool = new Pool({ url: redis.url, namespace });
  try {
    await assert.rejects(async () => pool.apply(addTimes, [new LocalValue('i', 0) as never, 1]), {
      code: 'ERR_MP_UNCLONEABLE',
      message: /args\[0\].*use Value, Array, Lock or Queue from multiprocessing\/distributed/,
    });
  } finally {
    pool.close();
    await pool.join();
  }
});
