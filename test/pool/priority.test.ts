// Per-task priority: higher starts first, equal priorities in submission order, and aging keeps a
// low-priority task from starving under a steady stream of higher-priority work. The start order is
// observed in a shared log that each task writes as it starts (fixtures: logStart).
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { notify } from '../../src/runtime/futex.js';
import { holdUntilReleased, logStart } from '../fixtures/pool/tasks.js';
import { until, within } from '../fixtures/until.js';
import { AGING } from '../../src/pool/pending.js';

const { Pool } = ctx;

const T = { timeout: 60_000 };

/** A pool of one worker held busy by a task that runs alone until `release()`. */
async function heldPool() {
  const pool = new Pool(1);
  const word = new Int32Array(sharedBuffer(8));
  const held = pool.apply(holdUntilReleased, [word], { timeout: 30_000 });
  await until('the holding task started', () => Atomics.load(word, 0) === 1);
  const release = (): void => {
    Atomics.store(word, 1, 1);
    notify(word, 1);
  };
  return { pool, held, release };
}

function started(log: Int32Array): number[] {
  return Array.from(log.subarray(1, 1 + Atomics.load(log, 0)));
}

test('tasks queued with mixed priorities start highest first, equal priorities in submission order', { ...T, ...needsSharedMemory }, async () => {
  const { pool, held, release } = await heldPool();
  try {
    const log = new Int32Array(sharedBuffer(4 * 64));
    const plan: [tag: number, priority: number | undefined][] = [
      [1, undefined],
      [2, 5],
      [3, -2],
      [4, 0],
      [5, 5],
      [6, 1],
      [7, -2],
      [8, 1],
      [9, undefined],
    ];
    const runs = plan.map(([tag, priority]) => pool.apply(logStart, [log, tag], priority === undefined ? {} : { priority }));
    assert.equal(pool.stats().queued, 9);
    release();
    await within(Promise.all([held, ...runs]), 'every task');
    assert.deepEqual(started(log), [2, 5, 6, 8, 1, 4, 9, 3, 7]);
  } finally {
    release();
    await pool.terminate();
  }
});

test('map and imap chunks take the call’s priority', { ...T, ...needsSharedMemory }, async () => {
  const { pool, held, release } = await heldPool();
  try {
    const log = new Int32Array(sharedBuffer(4 * 64));
    const low = pool.starmap(logStart, [[log, 1], [log, 2]], 1);
    const high = pool.starmap(logStart, [[log, 3], [log, 4]], 1, { priority: 2 });
    const streamed: number[] = [];
    const stream = (async () => {
      for await (const tag of pool.imap((pair: [Int32Array, number]) => logStart(...pair), [[log, 5] as [Int32Array, number]], 1, { priority: 1 })) {
        streamed.push(tag);
      }
    })();
    await until('every chunk queued', () => pool.stats().queued === 5);
    release();
    await within(Promise.all([held, low, high, stream]), 'every task');
    assert.deepEqual(started(log), [3, 4, 5, 1, 2]);
    assert.deepEqual(streamed, [5]);
  } finally {
    release();
    await pool.terminate();
  }
});

test(`aging: under a steady stream of priority-1 work, a priority-0 task starts after exactly ${AGING - 1} of it`, { ...T, ...needsSharedMemory }, async () => {
  const { pool, held, release } = await heldPool();
  const LOW = -1;
  try {
    const log = new Int32Array(sharedBuffer(4 * (2 + 6 * AGING)));
    const runs: Promise<number>[] = [pool.apply(logStart, [log, LOW])];
    let submitted = 0;
    const submitHigh = (count: number): void => {
      for (let i = 0; i < count; i++) runs.push(pool.apply(logStart, [log, ++submitted], { priority: 1 }));
    };
    submitHigh(2 * AGING);
    release();
    // The stream goes on while they run: a new batch of high-priority tasks each time some finish,
    // until the low one has started (or 6 × AGING have been submitted: it starved, and the test fails).
    while (!started(log).includes(LOW) && submitted < 6 * AGING) {
      const before = Atomics.load(log, 0);
      await until('more tasks started', () => Atomics.load(log, 0) > before);
      submitHigh(100);
    }
    const order = started(log);
    assert.equal(order.indexOf(LOW), AGING - 1, `started after ${order.indexOf(LOW)} high-priority tasks`);
    assert.deepEqual(order.slice(0, AGING - 1), Array.from({ length: AGING - 1 }, (_, i) => i + 1));
    await within(Promise.all([held, ...runs]), 'every task');
    assert.equal(pool.stats().completed, runs.length + 1);
  } finally {
    release();
    await pool.terminate();
  }
});

test('priority is checked up front', async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(logStart, [new Int32Array(2), 0], { priority: '1' as never }), {
      name: 'TypeError',
      code: 'ERR_MP_INVALID_ARG',
    });
    await assert.rejects(pool.apply(logStart, [new Int32Array(2), 0], { priority: Infinity }), {
      name: 'RangeError',
      code: 'ERR_MP_INVALID_ARG',
    });
    await assert.rejects(pool.map(logStart as never, [1], 1, { priority: NaN }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  } finally {
    await pool.terminate();
  }
});
