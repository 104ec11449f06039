// Many producers and consumers: every item exactly once, FIFO per producer; a producer joined before
// the queue is drained neither deadlocks nor loses anything.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { consume, consumeWatchingSize, produce, produceItems } from '../fixtures/queues/targets.js';

const { Process, Queue } = ctx;

const T = { timeout: 120_000 };

test('3 producers and 3 consumers move 60,000 items through a bounded queue, each exactly once', { ...T, ...needsSharedMemory }, async () => {
  const producers = 3;
  const consumers = 3;
  const perProducer = 20_000;
  const q = new Queue<{ p: number; i: number } | null>(100);
  const seen = new Int32Array(sharedBuffer(4 * producers * perProducer));
  const cs = Array.from({ length: consumers }, () => new Process({ target: consume, args: [q, seen, perProducer] }));
  const ps = Array.from({ length: producers }, (_, p) => new Process({ target: produce, args: [q, p, perProducer] }));
  for (const c of cs) c.start();
  for (const p of ps) p.start();
  for (const p of ps) await p.join(90_000);
  for (let c = 0; c < consumers; c++) await q.putAsync(null, 30_000);
  for (const c of cs) await c.join(90_000);
  for (const p of [...ps, ...cs]) assert.equal(p.exitCode, 0);
  let wrong = 0;
  for (let k = 0; k < seen.length; k++) if (seen[k] !== 1) wrong++;
  assert.equal(wrong, 0, `${wrong} items not seen exactly once`);
  assert.ok(q.empty());
});

test('a queue of maxsize 2 under 3 producers and 2 consumers never holds more than 2 items', { ...T, ...needsSharedMemory }, async () => {
  const producers = 3;
  const perProducer = 5_000;
  const q = new Queue<{ p: number; i: number } | null>(2);
  const seen = new Int32Array(sharedBuffer(4 * producers * perProducer));
  const largest = new Int32Array(sharedBuffer(4));
  const cs = Array.from({ length: 2 }, () => new Process({ target: consumeWatchingSize, args: [q, seen, perProducer, largest] }));
  const ps = Array.from({ length: producers }, (_, p) => new Process({ target: produce, args: [q, p, perProducer] }));
  for (const c of cs) c.start();
  for (const p of ps) p.start();
  for (const p of ps) await p.join(90_000);
  for (const _ of cs) await q.putAsync(null, 30_000);
  for (const c of cs) await c.join(90_000);
  for (const p of [...ps, ...cs]) assert.equal(p.exitCode, 0);
  let wrong = 0;
  for (let k = 0; k < seen.length; k++) if (seen[k] !== 1) wrong++;
  assert.equal(wrong, 0, `${wrong} items not seen exactly once`);
  assert.ok(largest[0]! <= 2, `the queue held ${largest[0]} items`);
  assert.ok(largest[0]! >= 1, 'the consumers never saw an item waiting: the bound was not exercised');
});

test('a producer of 200,000 items is joined before the queue is drained; nothing is lost', { ...T, ...needsSharedMemory }, async () => {
  const n = 200_000;
  const q = new Queue<{ i: number; s: string }>();
  const p = new Process({ target: produceItems, args: [q, n] });
  p.start();
  await p.join(90_000); // Python deadlocks here (oracle row 29)
  assert.equal(p.exitCode, 0);
  assert.equal(q.qsize(), n);
  for (let i = 0; i < n; i++) {
    const item = q.get(false);
    if (item.i !== i || item.s !== 'item-' + i) assert.fail(`item ${i} arrived as ${JSON.stringify(item)}`);
  }
  assert.ok(q.empty());
});

test('a 1 MB item put by a child that exits is there after join (oracle row 29)', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<Uint8Array>();
  const { putBig } = await import('../fixtures/queues/targets.js');
  const p = new Process({ target: putBig, args: [q, 1 << 20] });
  p.start();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(q.get(false).length, 1 << 20);
});

test('records of mixed sizes stay intact while a consumer reads as the ring grows and wraps', { ...T, ...needsSharedMemory }, async () => {
  const { produceSized, sized } = await import('../fixtures/queues/targets.js');
  const n = 3000;
  const q = new Queue<string>();
  const p = new Process({ target: produceSized, args: [q, n] });
  p.start();
  for (let i = 0; i < n; i++) {
    const item = q.get(true, 30_000);
    if (item !== sized(i)) assert.fail(`item ${i} arrived damaged (length ${item.length})`);
  }
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});
