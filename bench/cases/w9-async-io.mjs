/**
 * W9 async I/O: 1,000 tasks that each only await a 10 ms timer, on 2 workers that may each run 8 of
 * them at once (ours: `concurrentTasksPerWorker: 8`; piscina: its option of the same name). The floor is
 * 1,000 / 16 × 10 ms = 625 ms; a pool that runs one task at a time per worker needs 5 s.
 */
import { runCase, now, check } from './lib/harness.mjs';
import { ours } from './lib/ours.mjs';
import { waitTenMs } from './tasks.mjs';

const AT_ONCE = 8;
const namedExports = new URL('./workers/named-exports.mjs', import.meta.url);

/** @param {number} tasks @param {(i: number) => Promise<unknown>} run */
async function measure(tasks, run) {
  const start = now();
  const results = await Promise.all(Array.from({ length: tasks }, (_, i) => run(i)));
  const elapsed = now() - start;
  for (let i = 0; i < tasks; i++) check(results[i] === i, `result ${i} is ${String(results[i])}`);
  return elapsed;
}

runCase({
  async multiprocessing({ workers, tasks }) {
    const Pool = await ours('Pool');
    const pool = new Pool({ processes: workers, concurrentTasksPerWorker: AT_ONCE });
    try {
      await Promise.all(Array.from({ length: 2 * workers }, () => pool.apply(waitTenMs, [0])));
      return { value: await measure(tasks, (i) => pool.apply(waitTenMs, [i])) };
    } finally {
      pool.close();
      await pool.join();
    }
  },
  async piscina({ workers, tasks }) {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({ filename: namedExports.href, minThreads: workers, maxThreads: workers, concurrentTasksPerWorker: AT_ONCE });
    try {
      await Promise.all(Array.from({ length: 2 * workers }, () => pool.run(0, { name: 'waitTenMs' })));
      return { value: await measure(tasks, (i) => pool.run(i, { name: 'waitTenMs' })) };
    } finally {
      await pool.destroy();
    }
  },
});
