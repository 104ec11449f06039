/**
 * W2 CPU-bound: `tasks` × fib(n) on 2 workers. Figure: parallel wall time in ms
 * (lower is better). The same process first runs the same work serially on
 * its main thread, so the speedup it reports is measured on the same machine
 * state. Ours: `map(fib, …)`; peers: one task per fib, all submitted at once.
 */
import { runCase, now, check } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { fibonacci } from './lib/checks.mjs';
import { fib } from './tasks.mjs';

/** @param {number} tasks @param {number} n */
function measureSerial(tasks, n) {
  const start = now();
  let checksum = 0;
  for (let i = 0; i < tasks; i++) checksum += fib(n);
  const elapsed = now() - start;
  check(checksum === tasks * fibonacci(n), `serial checksum ${checksum}`);
  return elapsed;
}

/** @param {unknown[]} results @param {number} tasks @param {number} n */
function checkFibs(results, tasks, n) {
  check(Array.isArray(results) && results.length === tasks, `expected ${tasks} results`);
  const expected = fibonacci(n);
  results.forEach((value, i) => check(value === expected, `result ${i} is ${value}, expected fib(${n}) = ${expected}`));
}

/** @param {number} serialMs @param {number} parallelMs */
const figures = (serialMs, parallelMs) => ({
  value: parallelMs,
  extra: { serialMs, speedup: serialMs / parallelMs },
});

runCase({
  async multiprocessing({ workers, tasks, n, startMethod }) {
    const serialMs = measureSerial(tasks, n);
    return withOurPool(workers, async (pool) => {
      const start = now();
      const results = await pool.map(fib, Array(tasks).fill(n));
      const parallelMs = now() - start;
      checkFibs(results, tasks, n);
      return figures(serialMs, parallelMs);
    }, { task: 'fib', arg: 1 }, startMethod);
  },
  ...forEveryPeer(async ({ impl, workers, tasks, n }) => {
    const serialMs = measureSerial(tasks, n);
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      const results = await Promise.all(Array.from({ length: tasks }, () => pool.run('fib', n)));
      const parallelMs = now() - start;
      checkFibs(results, tasks, n);
      return figures(serialMs, parallelMs);
    }, { task: 'fib', arg: 1 });
  }),
});
