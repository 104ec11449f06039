/**
 * W4 queue: one producer sends `count` items `{ i, s: 'item-' + i }` to the
 * main thread, which checks every item arrives exactly once and in order.
 * Figure: messages per second (higher is better), from the start gate
 * opening (producer already running) to the last item received.
 * Ours: `Queue` with a blocking `get()` on the main thread, the producer a
 * `Process`. Reference: a raw MessagePort stream from a worker_thread.
 */
import { Worker, MessageChannel } from 'node:worker_threads';
import { runCase, check, now } from './lib/harness.mjs';
import { ours } from './lib/ours.mjs';
import { createGate, openWhenAllArrived } from './lib/gate.mjs';
import { produceIntoQueue } from './tasks.mjs';

const producerWorker = new URL('./workers/messageport-producer.mjs', import.meta.url);

/**
 * Checks one received item against the next expected index.
 * @param {any} item @param {number} expected
 */
function checkItem(item, expected) {
  if (item?.i !== expected || item?.s !== 'item-' + expected) {
    check(false, `item ${expected} arrived as ${JSON.stringify(item)}`);
  }
}

/** @param {number} count @param {number} elapsedMs */
const perSecond = (count, elapsedMs) => count / (elapsedMs / 1000);

runCase({
  async multiprocessing({ count, startMethod }) {
    const Queue = await ours('Queue', startMethod);
    const Process = await ours('Process', startMethod);
    const queue = new Queue();
    const gate = await createGate(startMethod);
    const producer = new Process({ target: produceIntoQueue, args: [queue, gate, count] });
    producer.start();
    const start = await openWhenAllArrived(gate, 1);
    for (let i = 0; i < count; i++) checkItem(queue.get(true, 30_000), i);
    const elapsed = now() - start;
    await producer.join();
    check(producer.exitCode === 0, `the producer exited with code ${producer.exitCode}`);
    check(queue.empty(), 'items left over after the last expected one');
    return { value: perSecond(count, elapsed) };
  },
  async messageport({ count }) {
    const { port1, port2 } = new MessageChannel();
    const gate = await createGate();
    const worker = new Worker(producerWorker, { workerData: { port: port2, gate, count }, transferList: [port2] });
    // Listen for the exit now: the worker may well be gone before the last item is read.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    let received = 0;
    /** @type {Promise<number>} */
    const lastItemAt = new Promise((resolve, reject) => {
      port1.on('message', (item) => {
        try {
          checkItem(item, received++);
          if (received === count) resolve(now());
        } catch (error) {
          reject(error);
        }
      });
      port1.on('close', () => reject(new Error(`the stream closed after ${received} of ${count} items`)));
      worker.on('error', reject);
    });
    const start = await openWhenAllArrived(gate, 1);
    const end = await lastItemAt;
    await exited;
    port1.close();
    check(received === count, `received ${received} items, expected ${count}`);
    return { value: perSecond(count, end - start) };
  },
});
