// JoinableQueue: taskDone accounting and join waiting for every taskDone across workers.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { work } from '../fixtures/queues/targets.js';

const { JoinableQueue, Process } = ctx;

const T = { timeout: 60_000 };

test('taskDone() called too many times throws with Python wording', needsSharedMemory, () => {
  const q = new JoinableQueue<number>();
  assert.throws(
    () => q.taskDone(),
    (e: Error & { code?: string }) => e.code === 'ERR_MP_TASK_DONE_TOO_MANY' && e.message === 'task_done() called too many times',
  );
  q.put(1);
  q.get();
  q.taskDone();
  assert.throws(() => q.taskDone(), /task_done\(\) called too many times/);
  assert.equal(q.join(), true, 'nothing unfinished: join returns at once');
});

test('join(timeout) returns false while tasks are unfinished', needsSharedMemory, () => {
  const q = new JoinableQueue<number>();
  q.put(1);
  const t = performance.now();
  assert.equal(q.join(100), false);
  const ms = performance.now() - t;
  assert.ok(ms >= 90 && ms < 1600, `took ${ms} ms`);
});

test('join() waits until workers have called taskDone() for every item', { ...T, ...needsSharedMemory }, async () => {
  const q = new JoinableQueue<number>();
  const done = new Int32Array(sharedBuffer(4));
  const ps = [0, 1].map(() => new Process({ target: work, args: [q, done, 50] }));
  for (let i = 0; i < 100; i++) q.put(i);
  for (const p of ps) p.start();
  assert.equal(q.join(30_000), true);
  assert.equal(done[0], 100);
  for (const p of ps) await p.join(30_000);
});

test('joinAsync() waits without blocking the event loop', { ...T, ...needsSharedMemory }, async () => {
  const q = new JoinableQueue<number>();
  const done = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: work, args: [q, done, 20] });
  for (let i = 0; i < 20; i++) q.put(i);
  p.start();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  assert.equal(await q.joinAsync(30_000), true);
  clearInterval(ticker);
  assert.ok(ticks > 0, 'the event loop kept running');
  assert.equal(done[0], 20);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});
