/**
 * `Pool` on a cluster: the local pool's whole surface (`pool/pool.ts`'s `PoolBase`: `apply`, `map`,
 * `imap`, `AsyncResult`, callbacks, `close`/`join`/`terminate`, `signal`, `timeout`, `onProgress`) over
 * the cluster executor (`executor.ts`). What differs is what may travel: functions by module and export
 * only (`task-name.ts`), and values that can cross machines (`codec.ts`).
 */
import { describeValue, misuse } from '../errors.js';
import { PoolBase } from '../pool/pool.js';
import { checkChunksize } from '../pool/options.js';
import type { Packed } from '../transport/payload.js';
import type { WireFunction } from '../transport/wire-function.js';
import { checkAuthkey, checkCrossable, type Authkey } from './codec.js';
import { checkNamespace, keysOf, parseRedisUrl } from './connection.js';
import { ClusterExecutor } from './executor.js';
import { moduleUrl, taskNameOf } from './task-name.js';
import { checkOptionKeys } from '../option-keys.js';

/** Options of a distributed `new Pool({...})`. */
export interface PoolOptions {
  /** Redis: `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  url: string;
  /** Drivers and workers of one cluster share a namespace (the worker's `--namespace`). Default `'default'`. */
  namespace?: string;
  /**
   * Tasks (a `map` chunk is one) this pool keeps out on the cluster at once; the rest wait in this
   * program. The cluster runs as many at once as its workers have processes in all. Default 8.
   */
  processes?: number;
  /**
   * Python's `authkey`: every task and result is signed with it (HMAC-SHA256) and checked before
   * anything is decoded; workers need the same key (`--authkey-file`). A mismatch rejects with
   * `AuthenticationError`. Redis ACL users and TLS protect the transport; this guards the payloads.
   */
  authkey?: Authkey;
  /**
   * Items per task for `map` and `imap` calls that give no chunksize. A task costs about 0.1 ms of
   * Redis work, so aim for ≥ 5 ms of work per chunk. Default: `map` cuts four chunks per process
   * (Python's rule, without the local pool's shrinking chunks at the end: each chunk costs a round
   * trip through Redis); `imap` 1.
   */
  chunksize?: number;
  /**
   * With this many tasks waiting in this program, `apply` rejects at once with `ERR_MP_QUEUE_FULL`
   * (as the local pool's). A whole number ≥ 1, or `'auto'` (processes²). Default `Infinity`.
   */
  maxQueue?: number | 'auto';
}

/** Chunks in flight by default: enough to keep a few workers' pipelines full. */
const DEFAULT_PROCESSES = 8;
const KNOWN = ['url', 'namespace', 'processes', 'authkey', 'chunksize', 'maxQueue'] as const satisfies readonly (keyof PoolOptions)[];

function checkOptions(options: unknown): Required<Pick<PoolOptions, 'url' | 'namespace' | 'processes'>> & {
  authkey: Buffer | undefined;
  chunksize: number | undefined;
  maxQueue: number;
} {
  if (typeof options !== 'object' || options === null) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `options must be an object such as { url: 'redis://127.0.0.1:6379' }, not ${describeValue(options)}`);
  }
  const given = options as Record<string, unknown>;
  checkOptionKeys(given, KNOWN, 'a distributed new Pool()');
  const processes = given.processes ?? DEFAULT_PROCESSES;
  if (typeof processes !== 'number' || !Number.isInteger(processes) || processes < 1) {
    throw misuse(RangeError, 'ERR_MP_POOL_SIZE', `processes must be a whole number ≥ 1, not ${describeValue(processes)}`);
  }
  const maxQueue = given.maxQueue === 'auto' ? processes * processes : (given.maxQueue ?? Infinity);
  if (typeof maxQueue !== 'number' || !(maxQueue === Infinity || (Number.isInteger(maxQueue) && maxQueue >= 1))) {
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `maxQueue must be a whole number ≥ 1 or 'auto', not ${describeValue(given.maxQueue)}`);
  }
  return {
    url: given.url as string,
    namespace: checkNamespace(given.namespace),
    processes,
    authkey: checkAuthkey(given.authkey),
    chunksize: checkChunksize(given.chunksize),
    maxQueue,
  };
}

/** The wire form of each function given to a distributed pool (see `Pool.wireOf`). */
const wires = new WeakMap<Function, WireFunction>();

/**
 * A pool whose tasks run on worker machines, through Redis. Start workers with
 * `npx multiprocessing worker --url … --import ./dist/tasks.js`; functions must be exported by a
 * module the workers import (they are named, never shipped as code).
 *
 * Tasks run at least once: a task whose worker dies mid-task runs again elsewhere once its lease
 * expires (`--lost-task-timeout` of the workers), and rejects with `WorkerLostError` after a second
 * loss; every promise settles exactly once. Make side effects idempotent.
 *
 * A task's `timeout` counts from its start, as locally; while no worker serves the namespace it counts
 * from its submission (the task rejects with `TimeoutError` instead of waiting forever). Tasks waiting
 * 10 s with no worker make the pool say so once on stderr.
 *
 * @example
 * ```ts
 * import { Pool } from 'multiprocessing/distributed';
 * import { cube } from './tasks.js';
 * await using pool = new Pool({ url: 'redis://127.0.0.1:6379', namespace: 'jobs' });
 * const cubes = await pool.map(cube, [1, 2, 3]); // [1, 8, 27]
 * ```
 */
export class Pool extends PoolBase {
  /** Redis's URL, without its password. */
  readonly url: string;
  readonly namespace: string;
  readonly #chunksize: number | undefined;

  constructor(options: PoolOptions) {
    const checked = checkOptions(options);
    const target = parseRedisUrl(checked.url);
    const executor = new ClusterExecutor({ target, keys: keysOf(checked.namespace), processes: checked.processes, authkey: checked.authkey });
    super({ processes: checked.processes, maxQueue: checked.maxQueue, executor, chunksize: checked.chunksize });
    this.url = target.shown;
    this.namespace = checked.namespace;
    this.#chunksize = checked.chunksize;
  }

  /** Python's rule: four chunks per process. */
  protected override defaultMapChunksize(length: number): number {
    return this.#chunksize ?? Math.ceil(length / (4 * this.processes));
  }

  /** Functions travel by module and export only; see `task-name.ts`. */
  protected override wireOf(fn: unknown): WireFunction {
    // Once per function (resolving its module's path cost a few µs per `apply`); references are
    // objects a caller may change, so they are named again each time.
    let wire = typeof fn === 'function' ? wires.get(fn) : undefined;
    if (wire === undefined) {
      const name = taskNameOf(fn);
      wire = { by: 'module', module: moduleUrl(name.module) ?? name.module, name: name.name, source: null };
      if (typeof fn === 'function') wires.set(fn, wire);
    }
    return wire;
  }

  /** Values travel as they are, once checked to be able to cross machines. */
  protected override packOf(value: unknown, path: string): Packed {
    checkCrossable(value, path);
    return { value, live: false };
  }
}
