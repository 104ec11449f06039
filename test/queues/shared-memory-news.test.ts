// Shared objects made after a child started, put on a queue or sent through a pipe, and taken by a child
// whose event loop has not run since (it was blocked). On Node a thread hears of such memory at once.
// On Bun and Deno it hears only on its event loop (runtime/thread/buffer-directory.ts): an async get
// waits for that news and gives the objects live; a blocking get refuses the item whole, with the fix in
// its message, and lets go of the pipe handles the item carried. These tests run on all three.
import assert from 'node:assert/strict';
import { ctx, needsSharedMemory, sharedBuffer, startMethod, test } from '../fixtures/context.js';
import { EOFError } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { hearsLate } from '../../src/runtime/thread/buffer-directory.js';
import { until } from '../fixtures/until.js';
import { LOCK_HELD, takeAsyncAfterBlocking, takeBlocking, type Item } from '../fixtures/queues/news-targets.js';

const { Event, Lock, Pipe, Process, Queue, Value } = ctx;

const T = { timeout: 60_000, ...needsSharedMemory };

// Thread memory is what a thread must hear of; the 'process' start method's memory is named by segment.
const refusedByBlockingGet = startMethod === 'thread' && hearsLate();

for (const via of ['Queue.getAsync', 'Connection.recvAsync'] as const) {
  test(`a Lock, a Value and a Connection made after the child started arrive live through ${via}`, T, async () => {
    const ready = new Event();
    const out = new Int32Array(sharedBuffer(8));
    const q = new Queue<Item>();
    const [here, there] = Pipe<Item>();
    const p = new Process({ target: takeAsyncAfterBlocking, args: [via === 'Queue.getAsync' ? q : there, ready, out] });
    p.start();
    there.close();
    await until('the child blocks', () => Atomics.load(out, 0) === 1, 30_000);
    const lock = new Lock();
    lock.acquire();
    const value = new Value('i', 41);
    const [mine, theirs] = Pipe<string>();
    const item: Item = [lock, value, theirs];
    if (via === 'Queue.getAsync') q.put(item);
    else here.send(item);
    theirs.close(); // the child's copy is the end's only handle now
    ready.set();
    await p.join(30_000);
    assert.equal(p.exitCode, 0);
    assert.equal(out[1], LOCK_HELD, 'the child saw the lock this thread holds');
    assert.equal(value.value, 42);
    assert.equal(mine.recv(), 'hello 42');
    assert.equal(mine.poll(10_000), true, 'the child closed the one handle it was given');
    assert.throws(() => mine.recv(), EOFError);
  });
}

test(`a blocking get ${refusedByBlockingGet ? 'refuses such an item whole, naming getAsync, and lets go of its pipe handle' : 'gives such an item live'}`, T, async () => {
  const ready = new Event();
  const done = new Event();
  const q = new Queue<[mp.Connection<string>, mp.Lock]>();
  const back = new Queue<string>();
  const out = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: takeBlocking, args: [q, back, ready, done, out] });
  p.start();
  await until('the child blocks', () => Atomics.load(out, 0) === 1, 30_000);
  const [mine, theirs] = Pipe<string>();
  const lock = new Lock();
  lock.acquire();
  q.put([theirs, lock]);
  theirs.close();
  ready.set();
  try {
    const report = back.get(true, 30_000);
    if (refusedByBlockingGet) {
      assert.match(report, /^ERR_MP_SHARED_BUFFER_LOST: .*a blocking get\(\) or recv\(\).*Use getAsync\(\) or recvAsync\(\)/);
      // The child is alive and its copy was never made: the handle in flight must not count as held.
      assert.equal(mine.poll(10_000), true, 'the refused item still holds the pipe end');
    } else {
      assert.equal(report, 'used');
      assert.equal(mine.recv(), 'lock held');
    }
    assert.equal(mine.poll(10_000), true);
    assert.throws(() => mine.recv(), EOFError);
  } finally {
    done.set();
    await p.join(30_000);
  }
  assert.equal(p.exitCode, 0);
});
