// Queue: every method and error, on the main thread and inside a worker; timeouts within a tolerant bound.
import assert from 'node:assert/strict';
import { Empty, Full } from '../../src/index.js';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { checkErrorsInWorker } from '../fixtures/queues/targets.js';
import { stillPending } from '../fixtures/until.js';

const { Process, Queue } = ctx;

const T = { timeout: 60_000 };

function timed<R>(fn: () => R): [R | unknown, number] {
  const t = performance.now();
  try {
    return [fn(), performance.now() - t];
  } catch (error) {
    return [error, performance.now() - t];
  }
}

function assertTimed(ms: number, expected: number): void {
  assert.ok(ms >= expected - 10 && ms < expected + 1500, `took ${ms.toFixed(1)} ms, expected about ${expected}`);
}

test('put/get are FIFO; qsize, empty, full, maxsize', needsSharedMemory, () => {
  const q = new Queue<number>(3);
  assert.equal(q.maxsize, 3);
  assert.ok(q.empty());
  assert.ok(!q.full());
  q.put(1);
  q.putNowait(2);
  q.put(3, false);
  assert.equal(q.qsize(), 3);
  assert.ok(q.full());
  assert.equal(q.get(), 1);
  assert.equal(q.getNowait(), 2);
  assert.equal(q.get(false), 3);
  assert.ok(q.empty());
  assert.equal(new Queue().maxsize, 0);
  assert.equal(new Queue(-5).maxsize, 0, 'maxsize <= 0 is unbounded');
  assert.throws(() => new Queue(1.5), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG');
});

test('Empty and Full: at once without blocking, after the timeout with one (Python oracle row 27)', { ...T, ...needsSharedMemory }, () => {
  const q = new Queue<number>(2);
  let [error, ms] = timed(() => q.get(true, 200));
  assert.ok(error instanceof Empty);
  assert.equal((error as Empty).code, 'ERR_MP_EMPTY');
  assertTimed(ms, 200);
  [error, ms] = timed(() => q.get(false, 5000));
  assert.ok(error instanceof Empty, 'the timeout is ignored when block is false');
  assert.ok(ms < 1000);
  [error, ms] = timed(() => q.get(true, -5));
  assert.ok(error instanceof Empty, 'a negative timeout counts as 0');
  assert.ok(ms < 1000);
  q.put(1);
  q.put(2);
  [error] = timed(() => q.putNowait(3));
  assert.ok(error instanceof Full);
  assert.equal((error as Full).code, 'ERR_MP_FULL');
  [error, ms] = timed(() => q.put(3, true, 200));
  assert.ok(error instanceof Full);
  assertTimed(ms, 200);
  assert.equal(q.qsize(), 2);
});

test('async forms: getAsync/putAsync time out without blocking the event loop', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>(1);
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  let t = performance.now();
  await assert.rejects(q.getAsync(150), Empty);
  assertTimed(performance.now() - t, 150);
  await q.putAsync(1);
  t = performance.now();
  await assert.rejects(q.putAsync(2, 150), Full);
  assertTimed(performance.now() - t, 150);
  clearInterval(ticker);
  assert.ok(ticks >= 5, `the event loop ran (${ticks} ticks)`);
  const pending = q.getAsync();
  assert.equal(await pending, 1);
  const waiting = q.getAsync(5000);
  assert.ok(await stillPending(waiting), 'getAsync waits on the empty queue');
  q.put(7);
  assert.equal(await waiting, 7);
});

test('an unbounded queue grows: large items and many items go through without blocking', { ...T, ...needsSharedMemory }, () => {
  const q = new Queue<unknown>();
  const big = new Float64Array(1_000_000).map((_, i) => i);
  q.put('small');
  q.put(big);
  for (let i = 0; i < 50_000; i++) q.put({ i });
  assert.equal(q.qsize(), 50_002);
  assert.equal(q.get(), 'small');
  assert.deepStrictEqual(q.get(), big);
  for (let i = 0; i < 50_000; i++) assert.equal((q.get() as { i: number }).i, i);
  assert.ok(q.empty());
});

test('records that wrap around the end of the ring stay intact while it grows', needsSharedMemory, () => {
  const q = new Queue<string>();
  const lengths: number[] = [];
  for (let round = 0; round < 200; round++) {
    for (let k = 0; k < 7; k++) {
      const n = (round * 131 + k * 977) % 20_000;
      lengths.push(n);
      q.put('y'.repeat(n));
    }
    for (let k = 0; k < 5; k++) assert.equal(q.get().length, lengths.shift());
  }
  while (lengths.length > 0) assert.equal(q.get().length, lengths.shift());
});

test('close() and joinThread() keep Python meaning (oracle row 28)', needsSharedMemory, () => {
  const q = new Queue<number>();
  assert.throws(() => q.joinThread(), (e: Error & { code?: string }) => e.code === 'ERR_MP_QUEUE_NOT_CLOSED' && /Queue not closed/.test(e.message));
  q.put(1);
  q.cancelJoinThread();
  q.close();
  q.joinThread();
  assert.throws(() => q.put(2), (e: Error & { code?: string }) => e.code === 'ERR_MP_QUEUE_CLOSED' && /Queue is closed/.test(e.message));
  assert.throws(() => q.get(), (e: Error & { code?: string }) => e.code === 'ERR_MP_QUEUE_CLOSED');
  assert.equal(q.qsize(), 1, 'what was put stays for other handles');
});

test('inside a worker: every error and timeout of a queue made by the parent', { ...T, ...needsSharedMemory }, async () => {
  const bounded = new Queue<number>(2);
  const empty = new Queue<number>();
  const p = new Process({ target: checkErrorsInWorker, args: [bounded, empty] });
  p.start();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.ok(bounded.empty());
});

test('a blocked get on the main thread wakes when a worker puts', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<{ i: number; s: string }>();
  const { produceItems } = await import('../fixtures/queues/targets.js');
  const p = new Process({ target: produceItems, args: [q, 1000] });
  p.start();
  for (let i = 0; i < 1000; i++) assert.equal(q.get(true, 30_000).s, 'item-' + i);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});
