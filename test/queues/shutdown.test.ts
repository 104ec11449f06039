// Python 3.13 queue shutdown, for every handle, and async iteration that ends at shutdown.
import { stillPending, until, within } from '../fixtures/until.js';
import assert from 'node:assert/strict';
import { ShutDown } from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { getUntilShutDown, iterate, putUntilShutDown } from '../fixtures/queues/targets.js';

const { JoinableQueue, Process, Queue } = ctx;

const T = { timeout: 60_000 };

test('after shutdown: puts throw ShutDown, gets drain what is left and then throw ShutDown', needsSharedMemory, () => {
  const q = new Queue<number>();
  q.put(1);
  q.put(2);
  q.shutdown();
  assert.ok(q.isShutDown);
  assert.throws(() => q.put(3), (e: Error & { code?: string }) => e instanceof ShutDown && e.code === 'ERR_MP_SHUTDOWN');
  assert.equal(q.get(), 1);
  assert.equal(q.get(false), 2);
  assert.throws(() => q.get(), ShutDown);
  assert.throws(() => q.get(false), ShutDown);
});

test('shutdown(true) drops what is left', needsSharedMemory, async () => {
  const q = new Queue<number>();
  q.put(1);
  q.shutdown(true);
  assert.equal(q.qsize(), 0);
  assert.throws(() => q.get(), ShutDown);
  await assert.rejects(q.getAsync(), ShutDown);
  await assert.rejects(q.putAsync(1), ShutDown);
});

test('a put blocked on a full queue in a worker wakes with ShutDown', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>(1);
  q.put(0);
  const out = new Int32Array(sharedBuffer(8));
  const p = new Process({ target: putUntilShutDown, args: [q, out] });
  p.start();
  await until('the worker is about to block in put()', () => Atomics.load(out, 1) === 1);
  q.shutdown();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(out[0], 1, 'the blocked put threw ShutDown');
  assert.equal(q.get(), 0, 'what was in the queue can still be drained');
});

test('a get blocked on an empty queue in a worker wakes with ShutDown', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>();
  const out = new Int32Array(sharedBuffer(8));
  const p = new Process({ target: getUntilShutDown, args: [q, out] });
  p.start();
  await until('the worker is about to block in get()', () => Atomics.load(out, 1) === 1);
  q.shutdown();
  await p.join(30_000);
  assert.equal(out[0], 1);
});

test('for await over a queue ends once it is shut down and drained (in a worker)', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>(10);
  const out = new Int32Array(sharedBuffer(12));
  const p = new Process({ target: iterate, args: [q, out] });
  p.start();
  for (let i = 1; i <= 100; i++) await q.putAsync(i, 30_000);
  q.shutdown();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.deepEqual([...out], [100, 5050, 1]);
});

test('for await on the main thread ends at shutdown', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>();
  q.put(1);
  q.put(2);
  const got: number[] = [];
  const loop = (async () => {
    for await (const x of q) got.push(x);
  })();
  await until('the loop took the two items put', () => got.length === 2);
  assert.ok(await stillPending(loop), 'the loop waits for more');
  q.put(3);
  q.shutdown();
  await within(loop, 'the loop ends at shutdown');
  assert.deepEqual(got, [1, 2, 3]);
});

test('JoinableQueue: shutdown(true) settles join() for the dropped items', { ...T, ...needsSharedMemory }, async () => {
  const q = new JoinableQueue<number>();
  q.put(1);
  q.put(2);
  assert.equal(q.get(), 1);
  const joined = q.joinAsync(10_000);
  q.shutdown(true);
  assert.equal(await q.joinAsync(10), false, 'the item taken is not done yet');
  q.taskDone();
  assert.equal(await joined, true);
});
