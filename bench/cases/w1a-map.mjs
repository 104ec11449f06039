/**
 * W1a tiny tasks through map: cube of 0..items-1 on 2 workers, ordered results.
 * Figure: items per second (higher is better).
 * Ours and Python: `map` with its default chunking. The peers have no map, so
 * they get what a user would write: the input split with Python's default
 * chunksize (ceil(n / 4·workers)), one task per chunk, results concatenated in order.
 */
import { runCase, now } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { checkCubesInOrder, pythonChunksize } from './lib/checks.mjs';
import { cube } from './tasks.mjs';

const inputs = (items) => Array.from({ length: items }, (_, i) => i);

/** @param {number} items @param {number} elapsedMs */
const itemsPerSecond = (items, elapsedMs) => items / (elapsedMs / 1000);

runCase({
  async multiprocessing({ workers, items }) {
    const xs = inputs(items);
    return withOurPool(workers, async (pool) => {
      const start = now();
      const results = await pool.map(cube, xs);
      const elapsed = now() - start;
      checkCubesInOrder(results, items);
      return { value: itemsPerSecond(items, elapsed) };
    });
  },
  ...forEveryPeer(async ({ impl, workers, items }) => {
    const xs = inputs(items);
    const size = pythonChunksize(items, workers);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const chunks = [];
      for (let at = 0; at < items; at += size) chunks.push(pool.run('cubeAll', xs.slice(at, at + size)));
      const results = (await Promise.all(chunks)).flat();
      const elapsed = now() - start;
      checkCubesInOrder(results, items);
      return { value: itemsPerSecond(items, elapsed), extra: { chunksize: size } };
    });
  }),
});
