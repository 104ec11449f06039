// Distributed objects handed to this machine's workers (a local Pool's tasks, a Process's target) cross
// as their names and are rebuilt there, with the async and the blocking forms working in the worker.
import assert from 'node:assert/strict';
import { ctx, startMethod, test } from '../fixtures/context.js';
import { Value } from '../../src/distributed/memory/value.js';
import { Lock } from '../../src/distributed/sync/lock.js';
import { useRedis } from '../fixtures/distributed/redis.js';
import { addTimes, bumpLocked } from '../fixtures/distributed/object-tasks.js';

const { Pool, Process } = ctx;
const T = { timeout: 60_000 };
const server = await useRedis();
const { url } = server;

test('a local Pool: 8 tasks on 2 workers add to one distributed Value; exact total', T, async () => {
  const value = new Value({ url, name: `pool-${startMethod}` }, 'i', 0);
  await using pool = new Pool(2);
  const done = await pool.starmap(addTimes, Array.from({ length: 8 }, () => [value, 25] as [Value<'i'>, number]));
  assert.deepEqual(done, new Array(8).fill(25));
  assert.equal(await value.getAsync(), 200);
});

test('a Process: the child takes the distributed Lock with the blocking form and bumps a Value under it', T, async () => {
  const lock = new Lock({ url, name: `process-${startMethod}` });
  const value = new Value({ url, name: `process-${startMethod}` }, 'i', 0);
  const children = [0, 1, 2].map(() => new Process({ target: bumpLocked, args: [lock, value] }));
  for (const child of children) child.start();
  for (const child of children) await child.join(30_000);
  for (const child of children) assert.equal(child.exitCode, 0);
  assert.equal(await value.getAsync(), 3);
});
