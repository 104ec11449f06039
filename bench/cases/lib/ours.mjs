/**
 * Access to our library from a case, imported exactly as a user would
 * (`import * as mp from 'multiprocessing'`, the package's self-reference to
 * the built dist). Features are looked up by name so a missing one reports
 * "not yet implemented" rather than crashing.
 */
import * as mp from 'multiprocessing';
import { requireExport, phase } from './harness.mjs';
import { cube } from '../tasks.mjs';

export { mp };

/** @param {string} name */
export const ours = (name) => /** @type {any} */ (requireExport(mp, name));

/**
 * Runs `body` with a fresh `new Pool(workers)`, warmed up (start-up is W5's
 * subject, not the throughput workloads'), then `close()` + `join()` as
 * API.md prescribes. On failure the pool is terminated (best effort) so the
 * case can report instead of hanging.
 * @template T @param {number} workers @param {(pool: any) => Promise<T>} body
 */
export async function withOurPool(workers, body) {
  const Pool = ours('Pool');
  const pool = new Pool(workers);
  let result;
  try {
    await Promise.all(Array.from({ length: 2 * workers }, () => pool.apply(cube, [1])));
    result = await body(pool);
  } catch (error) {
    try { await pool.terminate(); } catch { /* already failing; report the first error */ }
    throw error;
  }
  phase('pool.close() + pool.join()');
  pool.close();
  await pool.join();
  phase('running');
  return result;
}
