/**
 * Access to our library from a case, imported as a user would
 * (`import('multiprocessing')`, the package's self-reference to the built
 * dist). The import is dynamic so that the peers' and references' cases never
 * load our build at all. Features are looked up by name so a missing one
 * reports "not yet implemented" rather than crashing.
 */
import { requireExport, phase, LibraryUnavailable, NotImplemented } from './harness.mjs';
import * as tasks from '../tasks.mjs';

/** @type {Promise<Record<string, unknown>> | undefined} */
let library;

function loadLibrary() {
  library ??= import('multiprocessing').catch((error) => {
    throw new LibraryUnavailable(`cannot import multiprocessing (is dist/ built?): ${error?.message ?? error}`);
  });
  return library;
}

/**
 * An export of our library, e.g. `await ours('Pool')`; with `startMethod`, the class of that context
 * (`getContext('process').Pool`), or NotImplemented while the library lacks that start method.
 * @param {string} name @param {string} [startMethod] @returns {Promise<any>}
 */
export async function ours(name, startMethod) {
  const library = await loadLibrary();
  if (startMethod === undefined || startMethod === 'thread') return requireExport(library, name);
  const getAllStartMethods = /** @type {() => string[]} */ (requireExport(library, 'getAllStartMethods'));
  if (!getAllStartMethods().includes(startMethod)) throw new NotImplemented(`multiprocessing has no '${startMethod}' start method yet`);
  const getContext = /** @type {(method: string) => Record<string, unknown>} */ (requireExport(library, 'getContext'));
  return requireExport(getContext(startMethod), name);
}

/**
 * Runs `body` with a fresh `new Pool(workers)`, warmed up (start-up is W5's
 * subject, not the throughput workloads'), then `close()` + `join()` as
 * API.md prescribes. On failure the pool is terminated (best effort) so the
 * case can report instead of hanging.
 * `warm` names the workload's own task and a tiny argument: it runs once too, as the peers' worker
 * modules hold their task functions before the clock starts (ours learn a function on its first use).
 * `startMethod` (the workload's parameter) picks the context: `'thread'` (default) or `'process'`.
 * @template T @param {number} workers @param {(pool: any) => Promise<T>} body
 * @param {{ task: string, arg: unknown }} [warm] @param {string} [startMethod]
 */
export async function withOurPool(workers, body, warm, startMethod) {
  const Pool = await ours('Pool', startMethod);
  const pool = new Pool(workers);
  let result;
  try {
    await Promise.all(Array.from({ length: 2 * workers }, () => pool.apply(tasks.cube, [1])));
    if (warm) await Promise.all(Array.from({ length: workers }, () => pool.apply(tasks[warm.task], [warm.arg])));
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
