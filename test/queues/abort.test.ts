// Every async wait of the queues and pipes takes an AbortSignal (issue 10): an aborted get takes no
// item, an aborted put puts none, and no item or wakeup is lost to an abandoned wait.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { consume, produceItems } from '../fixtures/queues/targets.js';
import { stillPending, within } from '../fixtures/until.js';

const { JoinableQueue, Pipe, Process, Queue, SimpleQueue } = ctx;

const T = { timeout: 120_000 };
const isReason = (expected: unknown) => (error: unknown) => error === expected;

test('an already-aborted signal rejects with its reason and takes or puts nothing', needsSharedMemory, async () => {
  const why = new Error('stop');
  const signal = AbortSignal.abort(why);
  const q = new Queue<string>();
  q.put('kept');
  await assert.rejects(q.getAsync({ signal }), isReason(why));
  await assert.rejects(q.getAsync({ timeout: 0, signal }), isReason(why));
  await assert.rejects(q.putAsync('not put', { signal }), isReason(why));
  assert.equal(q.qsize(), 1);
  assert.equal(q.get(false), 'kept');
  const simple = new SimpleQueue<string>();
  simple.put('kept');
  await assert.rejects(simple.getAsync({ signal }), isReason(why));
  assert.equal(simple.get(), 'kept');
  const jq = new JoinableQueue<number>();
  await assert.rejects(jq.joinAsync({ signal }), isReason(why));
  const [a, b] = Pipe<string>();
  b.send('kept');
  b.sendBytes(new Uint8Array([7]));
  await assert.rejects(a.recvAsync({ signal }), isReason(why));
  assert.equal(a.recv(), 'kept');
  await assert.rejects(a.recvBytesAsync({ signal }), isReason(why));
  assert.deepEqual([...a.recvBytes()], [7]);
  await assert.rejects(a.recvAsync(100 as never), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG');
});

test('aborting a pending getAsync takes nothing and does not swallow the wakeup of the next', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<string>();
  const controller = new AbortController();
  const aborted = q.getAsync({ signal: controller.signal });
  const next = q.getAsync(); // sleeps behind the aborted one on the same word
  assert.ok(await stillPending(aborted), 'the get waits on the empty queue');
  controller.abort();
  await assert.rejects(aborted, (e: Error) => e.name === 'AbortError');
  q.put('x');
  assert.equal(await within(next, 'the put woke the aborted get instead', 10_000), 'x');
  assert.ok(q.empty());
});

test('aborting a pending putAsync on a full queue puts nothing; the next put goes through', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>(1);
  q.put(0);
  const controller = new AbortController();
  const aborted = q.putAsync(1, { signal: controller.signal });
  const next = q.putAsync(2);
  assert.ok(await stillPending(aborted), 'the put waits on the full queue');
  controller.abort();
  await assert.rejects(aborted, (e: Error) => e.name === 'AbortError');
  assert.equal(q.get(false), 0);
  await within(next, 'the get woke the aborted put instead', 10_000);
  assert.equal(q.get(false), 2);
  assert.ok(q.empty());
});

test('aborting a pending recvAsync receives nothing; the next receive gets the message', { ...T, ...needsSharedMemory }, async () => {
  const [a, b] = Pipe<string>();
  const controller = new AbortController();
  const aborted = a.recvAsync({ signal: controller.signal });
  assert.ok(await stillPending(aborted), 'the receive waits for a message');
  controller.abort();
  await assert.rejects(aborted, (e: Error) => e.name === 'AbortError');
  b.send('hello');
  assert.equal(await within(a.recvAsync(), 'recvAsync', 10_000), 'hello');
  const jq = new JoinableQueue<number>();
  jq.put(1);
  const join = new AbortController();
  const joining = jq.joinAsync({ signal: join.signal });
  join.abort();
  await assert.rejects(joining, (e: Error) => e.name === 'AbortError');
  jq.get();
  jq.taskDone();
  assert.equal(await jq.joinAsync(10_000), true);
});

test('stress: 3,000 items from a producer process against gets aborted at every stage; each arrives once', { ...T, ...needsSharedMemory }, async () => {
  const n = 3_000;
  const q = new Queue<{ i: number; s: string }>();
  const producer = new Process({ target: produceItems, args: [q, n] });
  producer.start();
  const seen = new Uint8Array(n);
  let received = 0;
  let aborts = 0;
  const deadline = performance.now() + 90_000;
  while (received < n) {
    assert.ok(performance.now() < deadline, `only ${received} of ${n} items arrived`);
    const batch: Promise<void>[] = [];
    for (let k = 0; k < 8; k++) {
      const controller = new AbortController();
      const get = q.getAsync({ signal: controller.signal });
      batch.push(
        get.then(
          (item) => {
            seen[item.i]++;
            received++;
          },
          (error: unknown) => {
            if (error !== controller.signal.reason) throw error;
            aborts++;
          },
        ),
      );
      // Abort at once, after the current microtasks, or on the next turn of the event loop.
      if (k % 4 === 0) controller.abort();
      else if (k % 4 === 1) queueMicrotask(() => controller.abort());
      else setImmediate(() => controller.abort());
    }
    await Promise.all(batch);
  }
  await producer.join(30_000);
  assert.equal(producer.exitCode, 0);
  assert.equal(received, n);
  assert.equal(seen.filter((count) => count !== 1).length, 0, 'an item arrived twice or never');
  assert.ok(q.empty());
  assert.ok(aborts > 0);
});

test('stress: putAsync on a bounded queue, every other put aborted; a consumer process gets exactly the others', { ...T, ...needsSharedMemory }, async () => {
  const n = 2_000;
  const q = new Queue<{ p: number; i: number } | null>(4);
  const seen = new Int32Array(sharedBuffer(4 * n));
  const consumer = new Process({ target: consume, args: [q, seen, n] });
  consumer.start();
  const put = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const controller = new AbortController();
    const pending = q.putAsync({ p: 0, i }, { timeout: 30_000, signal: controller.signal });
    if (i % 2 === 1) setImmediate(() => controller.abort());
    try {
      await pending;
      put[i] = 1;
    } catch (error) {
      if (error !== controller.signal.reason) throw error;
    }
  }
  await q.putAsync(null, 30_000);
  await consumer.join(60_000);
  assert.equal(consumer.exitCode, 0);
  let wrong = 0;
  for (let i = 0; i < n; i++) if (seen[i] !== put[i]) wrong++;
  assert.equal(wrong, 0, `${wrong} items arrived though aborted, or were lost though put`);
  assert.ok(put.reduce((a, b) => a + b, 0) >= n / 2);
});

test('many waits under one signal (20 getAsync on empty queues): one abort listener, all rejected by one abort, no leak warning', needsSharedMemory, async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    const controller = new AbortController();
    const queues = Array.from({ length: 20 }, () => new Queue());
    const waits = queues.map((q) => q.getAsync({ signal: controller.signal }));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    const why = new Error('enough');
    controller.abort(why);
    for (const wait of waits) await assert.rejects(wait, (e: unknown) => e === why);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});
