/**
 * One small interface over the four peer pools, so each workload is written
 * once for all of them: `run(taskName, arg, transferList?)` and `destroy()`.
 * Each pool is fixed at `workers` threads, with its defaults otherwise: the
 * comparison is with the peers as a user gets them out of the box.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const namedExports = new URL('../workers/named-exports.mjs', import.meta.url);
const workerpoolScript = fileURLToPath(new URL('../workers/workerpool-worker.mjs', import.meta.url));
const poolifierScript = fileURLToPath(new URL('../workers/poolifier-worker.mjs', import.meta.url));

export const PEER_NAMES = ['piscina', 'tinypool', 'workerpool', 'poolifier'];
/**
 * The peers' process modes, compared with our 'process' start method: tinypool's `child_process`
 * runtime and workerpool's `process` workers (both copy every message over IPC; piscina and poolifier
 * have no process mode that runs the same tasks).
 */
export const PROCESS_PEER_NAMES = ['tinypool-process', 'workerpool-process'];

/**
 * @typedef {{
 *   run(task: string, arg: unknown, transferList?: any[]): Promise<any>,
 *   destroy(): Promise<void>,
 * }} PeerPool
 */

/** @param {string} name @param {number} workers @returns {Promise<PeerPool>} */
export async function createPeerPool(name, workers) {
  switch (name) {
    case 'piscina': {
      const { Piscina } = await import('piscina');
      const pool = new Piscina({ filename: namedExports.href, minThreads: workers, maxThreads: workers });
      return {
        run: (task, arg, transferList) => pool.run(arg, { name: task, transferList }),
        destroy: () => pool.destroy(),
      };
    }
    case 'tinypool':
    case 'tinypool-process': {
      const { Tinypool } = await import('tinypool');
      const runtime = name === 'tinypool' ? 'worker_threads' : 'child_process';
      const pool = new Tinypool({ filename: namedExports.href, minThreads: workers, maxThreads: workers, runtime });
      return {
        run: (task, arg, transferList) => pool.run(arg, { name: task, transferList }),
        destroy: () => pool.destroy(),
      };
    }
    case 'workerpool':
    case 'workerpool-process': {
      const { default: workerpool } = await import('workerpool');
      const workerType = name === 'workerpool' ? 'thread' : 'process';
      const pool = workerpool.pool(workerpoolScript, { minWorkers: workers, maxWorkers: workers, workerType });
      return {
        run: (task, arg, transferList) => pool.exec(task, [arg], transferList ? { transfer: transferList } : undefined),
        destroy: () => pool.terminate(),
      };
    }
    case 'poolifier': {
      const { FixedThreadPool } = await import('poolifier');
      const pool = new FixedThreadPool(workers, poolifierScript);
      return {
        run: (task, arg, transferList) => pool.execute(arg, task, undefined, transferList),
        destroy: () => destroyPoolifier(pool),
      };
    }
    default:
      throw new Error(`unknown peer '${name}'`);
  }
}

/**
 * poolifier 5.3.2's `destroy()` sometimes never settles (about 1 run in 10
 * here) although its workers do exit, and the process then ends with the
 * promise pending. So the pool counts as closed when `destroy()` settles or
 * when every one of its worker threads has exited, whichever comes first.
 * @param {any} pool a poolifier FixedThreadPool
 */
function destroyPoolifier(pool) {
  const workers = pool.workerNodes.map((/** @type {any} */ node) => node.worker);
  const allExited = Promise.all(workers.map((/** @type {any} */ worker) => once(worker, 'exit')));
  return Promise.race([pool.destroy(), allExited.then(() => undefined)]);
}

/**
 * Runs `body` with a fresh peer pool, warmed up with a few tiny tasks so that
 * its threads are running before the clock starts (start-up is W5's subject),
 * and always destroys it.
 * `warm` names the workload's own task and a tiny argument, run once per worker too (as for ours).
 * @template T @param {string} name @param {number} workers @param {(pool: PeerPool) => Promise<T>} body
 * @param {{ task: string, arg: unknown }} [warm]
 */
export async function withPeerPool(name, workers, body, warm) {
  const pool = await createPeerPool(name, workers);
  try {
    await Promise.all(Array.from({ length: 2 * workers }, () => pool.run('cube', 1)));
    if (warm) await Promise.all(Array.from({ length: workers }, () => pool.run(warm.task, warm.arg)));
    return await body(pool);
  } finally {
    await pool.destroy();
  }
}

/** @param {(params: any) => Promise<any>} run */
export function forEveryPeer(run) {
  return Object.fromEntries([...PEER_NAMES, ...PROCESS_PEER_NAMES].map((name) => [name, run]));
}
