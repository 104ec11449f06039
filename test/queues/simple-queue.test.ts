// SimpleQueue: put, get, getAsync, empty, close; across a worker.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { sumSimple } from '../fixtures/queues/targets.js';

const { Process, SimpleQueue } = ctx;

test('put/get/empty/close on one thread', needsSharedMemory, async () => {
  const q = new SimpleQueue<string>();
  assert.ok(q.empty());
  q.put('a');
  q.put('b');
  assert.ok(!q.empty());
  assert.equal(q.get(), 'a');
  assert.equal(await q.getAsync(), 'b');
  q.close();
  assert.throws(() => q.get(), (e: Error & { code?: string }) => e.code === 'ERR_MP_HANDLE_CLOSED' && e.message === 'handle is closed');
  assert.throws(() => q.put('c'), /handle is closed/);
});

test('a worker sums what the parent puts and puts the sum back', { timeout: 60_000, ...needsSharedMemory }, async () => {
  const q = new SimpleQueue<number>();
  const out = new SimpleQueue<number>();
  const p = new Process({ target: sumSimple, args: [q, out, 1000] });
  p.start();
  for (let i = 0; i < 1000; i++) q.put(i);
  assert.equal(await out.getAsync(), 499_500);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});
