/**
 * W1b one task per item, all submitted at once: `apply(cube, [x])` for every x
 * (peers: their run/exec/execute per item). Measures raw dispatch rate.
 * Figure: tasks per second (higher is better).
 */
import { runCase, now } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { checkCubesInOrder } from './lib/checks.mjs';
import { cube } from './tasks.mjs';

const inputs = (items) => Array.from({ length: items }, (_, i) => i);
const tasksPerSecond = (items, elapsedMs) => items / (elapsedMs / 1000);

runCase({
  async multiprocessing({ workers, items, startMethod }) {
    const xs = inputs(items);
    return withOurPool(workers, async (pool) => {
      const start = now();
      const results = await Promise.all(xs.map((x) => pool.apply(cube, [x])));
      const elapsed = now() - start;
      checkCubesInOrder(results, items);
      return { value: tasksPerSecond(items, elapsed) };
    }, undefined, startMethod);
  },
  ...forEveryPeer(async ({ impl, workers, items }) => {
    const xs = inputs(items);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const results = await Promise.all(xs.map((x) => pool.run('cube', x)));
      const elapsed = now() - start;
      checkCubesInOrder(results, items);
      return { value: tasksPerSecond(items, elapsed) };
    });
  }),
});
