// pool.stats(): exact counts (completed, failed, queued, running, workers busy/idle) observed while a
// task holds the only worker, and the time summaries (a fixed histogram: exact min/max/mean, median and
// p99 within a bucket).
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { notify } from '../../src/runtime/futex.js';
import { cube, exitNow, failOdd, holdUntilReleased, slow } from '../fixtures/pool/tasks.js';
import { until, within } from '../fixtures/until.js';
import { TimeHistogram } from '../../src/pool/stats.js';

const { Pool } = ctx;

const T = { timeout: 60_000 };

test('the time histogram: exact min, max and mean; median and p99 within 3 %', () => {
  const h = new TimeHistogram();
  assert.deepEqual(h.summary(), { min: 0, mean: 0, median: 0, p99: 0, max: 0 });
  for (let i = 1; i <= 1000; i++) h.add(i);
  const s = h.summary();
  assert.equal(h.count, 1000);
  assert.equal(s.min, 1);
  assert.equal(s.max, 1000);
  assert.equal(s.mean, 500.5);
  assert.ok(Math.abs(s.median - 500) / 500 < 0.03, `median ${s.median}`);
  assert.ok(Math.abs(s.p99 - 990) / 990 < 0.03, `p99 ${s.p99}`);
  // Weighted adds (results that came back together) and sub-millisecond times, exact to the microsecond.
  const small = new TimeHistogram();
  small.add(0.005, 98);
  small.add(0.02, 2);
  assert.deepEqual(small.summary(), { min: 0.005, mean: (0.005 * 98 + 0.02 * 2) / 100, median: 0.005, p99: 0.02, max: 0.02 });
  // Out of range: a negative time counts as 0, a huge one in the last bucket (max stays exact).
  const edges = new TimeHistogram();
  edges.add(-1);
  edges.add(1e10);
  assert.equal(edges.summary().min, 0);
  assert.equal(edges.summary().max, 1e10);
  assert.equal(edges.summary().p99, 1e10);
});

test('completed and failed after 20 tasks with 10 failures; a lost worker and a timeout count as failed', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  try {
    const outcomes = await within(
      Promise.allSettled(Array.from({ length: 20 }, (_, i) => pool.apply(failOdd, [i]))),
      'the 20 tasks',
    );
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 10);
    let stats = pool.stats();
    assert.equal(stats.completed, 10);
    assert.equal(stats.failed, 10);
    assert.ok(stats.runTime.min >= 0 && stats.runTime.max >= stats.runTime.p99 && stats.runTime.p99 >= stats.runTime.median);
    await assert.rejects(pool.apply(exitNow, [3]), { code: 'ERR_MP_WORKER_LOST' });
    const word = new Int32Array(sharedBuffer(8));
    await assert.rejects(pool.apply(holdUntilReleased, [word], { timeout: 50 }), { code: 'ERR_MP_TIMEOUT' });
    // A map chunk is one task: 4 chunks of 1, two of which fail.
    await assert.rejects(pool.map(failOdd, [0, 1, 2, 3], 1));
    stats = pool.stats();
    assert.equal(stats.completed, 12);
    assert.equal(stats.failed, 14);
    assert.equal(stats.queued, 0);
    assert.equal(stats.running, 0);
  } finally {
    await pool.terminate();
  }
});

test('queued, running and busy/idle workers observed while a task holds the only worker', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(1);
  const word = new Int32Array(sharedBuffer(8));
  try {
    assert.deepEqual(pool.stats().workers, { total: 1, busy: 0, idle: 1 });
    const held = pool.apply(holdUntilReleased, [word], { timeout: 30_000 });
    await until('the holding task started', () => Atomics.load(word, 0) === 1);
    const queued = [1, 2, 3].map((x) => pool.apply(cube, [x]));
    let stats = pool.stats();
    assert.deepEqual(stats.workers, { total: 1, busy: 1, idle: 0 });
    assert.equal(stats.queued, 3);
    assert.equal(stats.running, 1);
    assert.equal(stats.completed, 0);
    Atomics.store(word, 1, 1);
    notify(word, 1);
    assert.deepEqual(await within(Promise.all(queued), 'the queued tasks'), [1, 8, 27]);
    await within(held, 'the holding task');
    stats = pool.stats();
    assert.deepEqual(stats.workers, { total: 1, busy: 0, idle: 1 });
    assert.equal(stats.queued, 0);
    assert.equal(stats.running, 0);
    assert.equal(stats.completed, 4);
    assert.equal(stats.failed, 0);
    // The three waited behind the holding task, which ran until released: their wait is at least as
    // long as it took to see it start; the holding task ran longer than any of them.
    assert.ok(stats.waitTime.max > 0);
    assert.ok(stats.runTime.max >= stats.runTime.median);
    assert.ok(stats.runTime.max > 0);
    assert.ok(stats.utilization > 0 && stats.utilization <= 1, `utilization ${stats.utilization}`);
  } finally {
    Atomics.store(word, 1, 1);
    notify(word, 1);
    await pool.terminate();
  }
});

test('terminate() counts every unfinished task as failed', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(1);
  const word = new Int32Array(sharedBuffer(8));
  const held = pool.apply(holdUntilReleased, [word], { timeout: 30_000 });
  await until('the holding task started', () => Atomics.load(word, 0) === 1);
  const queued = Array.from({ length: 5 }, (_, i) => pool.apply(cube, [i]));
  await pool.terminate();
  await assert.rejects(held);
  for (const task of queued) await assert.rejects(task);
  const stats = pool.stats();
  assert.equal(stats.failed, 6);
  assert.equal(stats.completed, 0);
  assert.equal(stats.queued, 0);
  assert.equal(stats.running, 0);
});

test('a task sent ahead waits until it starts: three tasks held in turn on the only worker wait about 0, H and 2H', { ...T, ...needsSharedMemory }, async () => {
  const created = performance.now();
  const pool = new Pool(1);
  const words = [0, 1, 2].map(() => new Int32Array(sharedBuffer(8)));
  const release = (word: Int32Array): void => {
    Atomics.store(word, 1, 1);
    notify(word, 1);
  };
  try {
    await pool.apply(cube, [1]);
    // The warm-up waited for the worker to start: H is well above that, so its wait is told apart.
    const H = Math.max(200, 2 * (performance.now() - created));
    const tasks = words.map((word) => pool.apply(holdUntilReleased, [word]));
    for (const word of words) {
      await until('the next task started', () => Atomics.load(word, 0) === 1);
      // Held for H ms on purpose: the tasks behind it wait at least that long.
      await new Promise((resolve) => setTimeout(resolve, H));
      release(word);
    }
    await within(Promise.all(tasks), 'the three tasks');
    const { waitTime, completed } = pool.stats();
    assert.equal(completed, 4);
    // Waits [warm-up ≤ H/2, ~0, ≥ H, ≥ 2H]. Counted until each was handed to the worker, the second and
    // third (sent ahead, one at a time) recorded about 0 and H.
    assert.ok(waitTime.max >= 2 * H, `the third waited ${waitTime.max} ms, H ${H}`);
    assert.ok(waitTime.mean * completed >= 3 * H, `the waits add up to ${waitTime.mean * completed} ms, H ${H}`);
  } finally {
    for (const word of words) release(word);
    await pool.terminate();
  }
});

test('utilization counts task places: 2 async tasks at once on a worker that runs 4 use at most half of it', T, async () => {
  const pool = new Pool({ processes: 1, concurrentTasksPerWorker: 4 });
  try {
    assert.deepEqual(await within(Promise.all([pool.apply(slow, [500, 1]), pool.apply(slow, [500, 2])]), 'the two tasks'), [1, 2]);
    const { utilization } = pool.stats();
    // 2 × 500 ms of run time over 4 places for at least 500 ms. Counted over workers alone, it was
    // 2 × 500 / (elapsed × 1), clamped to 1.
    assert.ok(utilization > 0 && utilization <= 0.51, `utilization ${utilization}`);
  } finally {
    await pool.terminate();
  }
});
