/**
 * W7 primes: `map(isPrime, 0..items-1)` on 2 workers, the natural program of Python's tutorial. Items
 * cost unequal amounts (trial division grows with n), and each is far cheaper than sending it one by
 * one. Figure: parallel wall time in ms (lower is better); the same process first runs the same
 * function over the same plain array on its main thread, and reports speedup = serial / parallel.
 * Ours and Python: `map` with the default chunking. Peers (no map): the input cut with Python's default
 * chunksize, one task per chunk. Hand-written worker_threads: Int32Array chunks out, Uint8Array results
 * back (both moved), two chunks in flight per worker, the same chunksize.
 */
import { runCase, now, check } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { withThreads } from './lib/threads.mjs';
import { pythonChunksize } from './lib/checks.mjs';
import { isPrime } from './tasks.mjs';

const inputs = (/** @type {number} */ items) => Array.from({ length: items }, (_, i) => i);

/** The serial run, on this thread: the reference answer and the time to beat. @param {number[]} xs */
function measureSerial(xs) {
  const start = now();
  const expected = xs.map(isPrime);
  return { expected, serialMs: now() - start };
}

/** @param {unknown} results @param {boolean[]} expected */
function checkPrimes(results, expected) {
  check(Array.isArray(results), `results are not an array (${typeof results})`);
  const list = /** @type {unknown[]} */ (results);
  check(list.length === expected.length, `expected ${expected.length} results, got ${list.length}`);
  for (let i = 0; i < expected.length; i++) check(list[i] === expected[i], `result ${i} is ${String(list[i])}, expected ${expected[i]}`);
}

/** @param {number} serialMs @param {number} parallelMs */
const figures = (serialMs, parallelMs, extra = {}) => ({ value: parallelMs, extra: { serialMs, speedup: serialMs / parallelMs, ...extra } });

runCase({
  async multiprocessing({ workers, items }) {
    const xs = inputs(items);
    const { expected, serialMs } = measureSerial(xs);
    return withOurPool(workers, async (pool) => {
      const start = now();
      const results = await pool.map(isPrime, xs);
      const parallelMs = now() - start;
      checkPrimes(results, expected);
      return figures(serialMs, parallelMs);
    }, { task: 'isPrime', arg: 7 });
  },
  ...forEveryPeer(async ({ impl, workers, items }) => {
    const xs = inputs(items);
    const { expected, serialMs } = measureSerial(xs);
    const size = pythonChunksize(items, workers);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const chunks = [];
      for (let at = 0; at < items; at += size) chunks.push(pool.run('isPrimeAll', xs.slice(at, at + size)));
      const results = (await Promise.all(chunks)).flat();
      const parallelMs = now() - start;
      checkPrimes(results, expected);
      return figures(serialMs, parallelMs, { chunksize: size });
    }, { task: 'isPrimeAll', arg: [7] });
  }),
  async 'worker-threads'({ workers, items }) {
    const xs = inputs(items);
    const { expected, serialMs } = measureSerial(xs);
    const size = pythonChunksize(items, workers);
    return withThreads(workers, async (run) => {
      const warm = Array.from({ length: 2 * workers }, () => ({ items: new Int32Array([7]) }));
      await run('isPrime', warm, () => {});
      const start = now();
      const chunks = [];
      for (let at = 0; at < items; at += size) {
        const block = Int32Array.from(xs.slice(at, at + size));
        chunks.push({ items: block, transfer: [block.buffer] });
      }
      const results = new Array(items);
      await run('isPrime', chunks, (index, flags) => {
        for (let i = 0, at = index * size; i < flags.length; i++) results[at + i] = flags[i] === 1;
      });
      const parallelMs = now() - start;
      checkPrimes(results, expected);
      return figures(serialMs, parallelMs, { chunksize: size });
    });
  },
});
