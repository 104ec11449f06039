// A queue names the library's shared kinds when it crosses (transport/shareable.ts `kindsToLoad`), so a
// worker that imported none of them still revives any of them from its items, which `get()` reads
// synchronously.
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import assert from 'node:assert/strict';
import type * as mp from '../../src/index.js';
import { useItem } from '../fixtures/queues/queue-only.js';
const { Lock, Process, Queue, Value } = ctx;

test('a worker whose code imports no shared class revives a Lock and a Value from a queue item', { timeout: 60_000, ...needsSharedMemory }, async () => {
  const q = new Queue<{ lock: mp.Lock; value: mp.Value<'i'> }>();
  const out = new Int32Array(sharedBuffer(8));
  const value = new Value('i', 41);
  const p = new Process({ target: useItem, args: [q, out] });
  p.start();
  q.put({ lock: new Lock(), value });
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.deepEqual([...out], [1, 42]);
  assert.equal(value.value, 42);
});
