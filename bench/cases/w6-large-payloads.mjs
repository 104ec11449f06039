/**
 * W6 large payloads: `arrays` Float64Arrays of `length` elements (1 MiB each
 * in the full run) are summed by 2 workers, one task per array, all submitted
 * at once. Figure: milliseconds from first submit to last sum (lower is
 * better); filling the arrays is not timed. Modes:
 *   copied       structured clone of each array into the worker
 *   transferred  the array's buffer in the transfer list (moved, not copied);
 *                ours: `apply(fn, args, { transfer })`
 *   shared       zero-copy: ours a shared `Array('d')`, peers a Float64Array
 *                over a SharedArrayBuffer (what a peer's user would do)
 * Reference: hand-written worker_threads, 2 workers, every array posted at
 * once round-robin, the floor each mode has on this machine without a pool.
 */
import { Worker } from 'node:worker_threads';
import { runCase, now, check, NotImplemented } from './lib/harness.mjs';
import { withOurPool, ours } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { sumValues } from './tasks.mjs';

/** Element j of array k; small integers, so every sum is exact in a double. */
const element = (k, j) => (j % 1000) + k;

/** @param {number} k @param {number} length */
function expectedSum(k, length) {
  let sum = 0;
  for (let j = 0; j < length; j++) sum += element(k, j);
  return sum;
}

/** @template {{ [j: number]: number }} T @param {T} target @param {number} k @param {number} length @returns {T} */
function fill(target, k, length) {
  for (let j = 0; j < length; j++) target[j] = element(k, j);
  return target;
}

/** @param {unknown[]} sums @param {number} arrays @param {number} length */
function checkSums(sums, arrays, length) {
  check(sums.length === arrays, `expected ${arrays} sums, got ${sums.length}`);
  sums.forEach((sum, k) => check(sum === expectedSum(k, length), `sum ${k} is ${sum}, expected ${expectedSum(k, length)}`));
}

/** @param {string} mode @param {number} arrays @param {number} length */
function peerPayloads(mode, arrays, length) {
  return Array.from({ length: arrays }, (_, k) => {
    const buffer = mode === 'shared'
      ? new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT)
      : new ArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT);
    return fill(new Float64Array(buffer), k, length);
  });
}

runCase({
  async multiprocessing({ mode, workers, arrays, length, startMethod }) {
    const SharedArray = mode === 'shared' ? await ours('Array', startMethod) : undefined;
    const payloads = Array.from({ length: arrays }, (_, k) =>
      fill(SharedArray ? new SharedArray('d', length, { lock: false }) : new Float64Array(length), k, length));
    return withOurPool(workers, async (pool) => {
      const start = now();
      const sums = await Promise.all(payloads.map((values) =>
        pool.apply(sumValues, [values], mode === 'transferred' ? { transfer: [values.buffer] } : undefined)));
      const elapsed = now() - start;
      checkSums(sums, arrays, length);
      if (mode === 'transferred' && !payloads.every((v) => v.byteLength === 0)) {
        throw new NotImplemented('the Pool ignores the transfer option: the arrays were copied');
      }
      return { value: elapsed };
    }, { task: 'sumValues', arg: SharedArray ? new SharedArray('d', 4, { lock: false }) : new Float64Array(4) }, startMethod);
  },
  async 'worker-threads'({ mode, workers, arrays, length }) {
    const payloads = peerPayloads(mode, arrays, length);
    const threads = Array.from({ length: workers }, () => new Worker(new URL('./workers/sum-worker.mjs', import.meta.url)));
    try {
      /** @type {((value: { id: number, sum: number }) => void)[]} */
      const waiting = [];
      /** @type {Promise<never>} */
      const failed = new Promise((_, reject) => threads.forEach((thread) => thread.once('error', reject)));
      for (const thread of threads) thread.on('message', (reply) => waiting[reply.id](reply));
      const post = (/** @type {number} */ id, /** @type {Float64Array} */ values) =>
        Promise.race([failed, new Promise((resolve) => {
          waiting[id] = resolve;
          threads[id % threads.length].postMessage({ id, values }, mode === 'transferred' ? [values.buffer] : undefined);
        })]);
      // Warm-up, as for the pools: each thread sums a tiny array of the same kind once.
      await Promise.all(threads.map((_, k) => post(k, peerPayloads(mode, 1, 4)[0])));
      const start = now();
      const replies = await Promise.all(payloads.map((values, k) => post(k, values)));
      const elapsed = now() - start;
      checkSums(replies.map((reply) => reply.sum), arrays, length);
      if (mode === 'transferred') check(payloads.every((v) => v.byteLength === 0), 'an array was copied, not transferred');
      return { value: elapsed };
    } finally {
      await Promise.all(threads.map((thread) => thread.terminate()));
    }
  },
  ...forEveryPeer(async ({ impl, mode, workers, arrays, length }) => {
    const payloads = peerPayloads(mode, arrays, length);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const sums = await Promise.all(payloads.map((values) =>
        pool.run('sumValues', values, mode === 'transferred' ? [values.buffer] : undefined)));
      const elapsed = now() - start;
      checkSums(sums, arrays, length);
      if (mode === 'transferred') check(payloads.every((v) => v.byteLength === 0), 'an array was copied, not transferred');
      return { value: elapsed };
    }, { task: 'sumValues', arg: peerPayloads(mode, 1, 4)[0] });
  }),
});
