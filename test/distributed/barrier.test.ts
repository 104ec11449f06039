// The distributed Barrier against a real redis-server: generations across processes with their arrival
// indexes and one action per generation; a timeout, abort, reset and a failing action break it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Barrier } from '../../src/distributed/sync/barrier.js';
import { BrokenBarrierError } from '../../src/errors.js';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { stillPending, until, within } from '../fixtures/until.js';

const T = { timeout: 90_000 };
const server = await useRedis();
const { url } = server;

test('Barrier: 5 generations of 3 parties (2 processes and this one); indexes 0-2 each; one action per generation', T, async () => {
  const generations = 5;
  let actions = 0;
  const barrier = new Barrier({ url, namespace: 'barriertest', name: 'steps' }, 3, { action: () => (actions += 1) });
  const children = [runTs(fixture('barrier-party.ts'), [url, String(generations)], 80_000), runTs(fixture('barrier-party.ts'), [url, String(generations)], 80_000)];
  const mine: number[] = [];
  for (let g = 0; g < generations; g++) mine.push(await within(barrier.waitAsync(60_000), `generation ${g}`, 70_000));
  const runs = await Promise.all(children);
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const theirs = runs.map((r) => r.stdout.trim().split(' ').map(Number));
  for (let g = 0; g < generations; g++) {
    assert.deepEqual([mine[g], theirs[0]![g], theirs[1]![g]].sort(), [0, 1, 2], `generation ${g}`);
  }
  // The action runs in the last to arrive, and only this handle has one.
  assert.equal(actions, mine.filter((index) => index === 2).length);
});

test('Barrier: a wait that times out breaks it for every waiter; reset makes it usable again', T, async () => {
  const a = new Barrier({ url, name: 'timeout' }, 3);
  const b = new Barrier({ url, name: 'timeout' }, 3);
  const waiting = a.waitAsync(60_000);
  await until('one waiting', () => a.nWaiting === 1);
  await assert.rejects(b.waitAsync(30), BrokenBarrierError);
  await assert.rejects(within(waiting, 'the other waiter broken'), BrokenBarrierError);
  assert.equal(await a.brokenAsync(), true);
  await assert.rejects(a.waitAsync(), BrokenBarrierError);
  a.reset();
  assert.equal(a.broken, false);
  const two = new Barrier({ url, name: 'timeout' }, 3);
  const all = await within(Promise.all([a.waitAsync(10_000), b.waitAsync(10_000), two.waitAsync(10_000)]), 'a full generation after reset');
  assert.deepEqual(all.sort(), [0, 1, 2]);
});

test('Barrier: reset and abort break the waiters; a failing action breaks it and throws its error', T, async () => {
  const a = new Barrier({ url, name: 'reset' }, 2);
  const waiting = a.waitAsync(20_000);
  assert.equal(await stillPending(waiting), true);
  await until('one waiting', () => a.nWaiting === 1);
  await a.resetAsync();
  await assert.rejects(within(waiting, 'broken by reset'), BrokenBarrierError);
  assert.equal(a.broken, false);

  const aborted = a.waitAsync(20_000);
  await until('one waiting', () => a.nWaiting === 1);
  a.abort();
  await assert.rejects(within(aborted, 'broken by abort'), BrokenBarrierError);
  await a.resetAsync();

  const failing = new Barrier({ url, name: 'reset' }, 2, { action: () => { throw new Error('action failed'); } });
  const other = a.waitAsync(20_000);
  await until('one waiting', () => a.nWaiting === 1);
  assert.throws(() => failing.wait(), /action failed/);
  await assert.rejects(within(other, 'broken by the action'), BrokenBarrierError);
  assert.throws(() => new Barrier({ url, name: 'bad' }, 0), { code: 'ERR_MP_BARRIER_PARTIES' });
});

test('Barrier: the default timeout applies to waitAsync({ signal }) too, and breaks it', T, async () => {
  const barrier = new Barrier({ url, name: 'default-timeout' }, 2, { timeout: 30 });
  await assert.rejects(within(barrier.waitAsync({ signal: new AbortController().signal }), 'the default timeout'), BrokenBarrierError);
  assert.equal(await barrier.brokenAsync(), true);
});
