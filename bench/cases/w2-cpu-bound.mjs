/**
 * W2 CPU-bound: `tasks` × fib(n) on 2 workers. Figure: parallel wall time in ms
 * (lower is better). The same process first runs the same work serially on
 * its main thread, so the speedup it reports is measured on the same machine
 * state. Ours: `map(fib, …)`; peers: one task per fib, all submitted at once.
 */
import { runCase, now } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { checkFibs, fibFigures, measureSerialFibs } from './lib/checks.mjs';
import { fib } from './tasks.mjs';

runCase({
  async multiprocessing({ workers, tasks, n, startMethod }) {
    const serialMs = measureSerialFibs(tasks, n);
    return withOurPool(workers, async (pool) => {
      const start = now();
      const results = await pool.map(fib, Array(tasks).fill(n));
      const parallelMs = now() - start;
      checkFibs(results, tasks, n);
      return fibFigures(serialMs, parallelMs);
    }, { task: 'fib', arg: 1 }, startMethod);
  },
  ...forEveryPeer(async ({ impl, workers, tasks, n }) => {
    const serialMs = measureSerialFibs(tasks, n);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const results = await Promise.all(Array.from({ length: tasks }, () => pool.run('fib', n)));
      const parallelMs = now() - start;
      checkFibs(results, tasks, n);
      return fibFigures(serialMs, parallelMs);
    }, { task: 'fib', arg: 1 });
  }),
});
