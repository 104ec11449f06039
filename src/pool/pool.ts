/**
 * `Pool`: Python's process pool. This module is the API: arguments, chunking, results in order,
 * callbacks and lifecycle (`PoolBase`). What runs the tasks is an executor (`executor.ts`): for the local
 * `Pool`, built in one place (`createExecutor`), the local scheduler (`scheduler.ts`: worker threads; who
 * runs what, and what happens when a worker dies); `multiprocessing/distributed`'s `Pool` is the same
 * surface over the cluster executor (`distributed/executor.ts`). How arguments and options are checked is `options.ts`; how outcomes reach
 * user code (a throwing callback, a rejection caused by `terminate()`) is `delivery.ts`.
 */
import type { Movable, ResourceLimits } from '../runtime/child.js';
import { currentStartMethod, withStartMethod, type StartMethod } from '../runtime/start-methods.js';
import { cpuCount } from '../runtime/cpu-count.js';
import { assertMayStartChildren } from '../runtime/identity.js';
import type { FunctionReference, WireFunction } from '../transport/wire-function.js';
import type { Packed } from '../transport/payload.js';
import { pack, toWireFunction } from '../transport/pack.js';
import { misuse } from '../errors.js';
import type { Executor, Transferred } from './executor.js';
import { Scheduler } from './scheduler.js';
import { AsyncResult, type Callbacks } from './async-result.js';
import { IMapIterator } from './imap.js';
import { allNumbers, chunkResults, chunkSizeAt, copyResults, numberBlock, recordsPerChunk, recordKeys, toColumns, worthABlock } from './chunks.js';
import { Outcome, TaskMode } from './protocol.js';
import type { PoolStats } from './stats.js';
import { quietWhen, rejectQuietlyWhen, runUserCallback } from './delivery.js';
import {
  checkArgs,
  checkChunksize,
  checkFunction,
  checkIterable,
  checkPoolOptions,
  checkStarmapItems,
  checkTaskOptions,
  type PoolSettings,
  type TaskSettings,
} from './options.js';

/**
 * Options of `new Pool({...})`: Python's keyword arguments, and beside them what Node users know from
 * piscina (an elastic size, each worker's `env`, `argv`, `execArgv` and `name`).
 */
export interface PoolOptions {
  /**
   * How many workers: all of them, started with the pool (Python's fixed pool), or with `minProcesses`
   * the most at once. Default `cpuCount()` (or `minProcesses`, if larger).
   */
  processes?: number;
  /**
   * Makes the pool elastic: this many workers start with the pool and are kept; more start as tasks
   * wait for one, up to `processes`, and retire after `idleTimeout` ms without work. `0` is allowed: the
   * pool then starts its first worker for its first task, and again after shrinking to none.
   * Default: `processes` (a fixed pool).
   * @example
   * ```ts
   * // 0 workers while idle, up to 8 under load; each idle for 5 s retires
   * const pool = new Pool({ processes: 8, minProcesses: 0, idleTimeout: 5_000 });
   * ```
   */
  minProcesses?: number;
  /**
   * With `minProcesses`: milliseconds a worker above `minProcesses` may stay idle before it retires;
   * `Infinity` keeps every worker once started. Default 10,000 (a burst every few seconds finds its
   * workers; a pool left idle gives them back). Without `minProcesses` (a fixed pool) it is refused
   * (`ERR_MP_INVALID_ARG`), since no worker would ever retire.
   * @example `new Pool({ processes: 4, minProcesses: 1, idleTimeout: 1_000 })`
   */
  idleTimeout?: number;
  /** Runs once in each new worker before its first task. */
  initializer?: ((...args: never[]) => unknown) | FunctionReference;
  /** The initializer's arguments. */
  initargs?: unknown[];
  /** Replace a worker after it has run this many tasks (a `map` chunk counts as one). Default: never. */
  maxTasksPerChild?: number | null;
  /**
   * How many tasks one worker may run at once (an extension, as piscina's): a task that returns a
   * promise lets the same worker start the next ones while it awaits (I/O, timers), up to this many.
   * Results, errors, `timeout` and `signal` stay per task (a task with a `timeout` or `signal` still
   * runs alone); a worker that dies rejects exactly the tasks it had started. Default 1, as Python's.
   * @example `const pool = new Pool({ processes: 2, concurrentTasksPerWorker: 8 }); // 16 fetches at once`
   */
  concurrentTasksPerWorker?: number;
  /**
   * Memory limits of each worker (Node's `worker_threads` option); a worker that exceeds them is lost.
   * A key it does not take is refused (`ERR_MP_INVALID_ARG`), and so is `codeRangeSizeMb` under the
   * `'process'` start method, which has no way to apply it.
   */
  resourceLimits?: ResourceLimits;
  /**
   * Backpressure (an extension, as piscina's): with this many tasks waiting for a worker
   * (`stats().queued`: beyond those the workers can start at once), `apply` and `applyAsync` reject at
   * once with `ERR_MP_QUEUE_FULL`; `await pool.drained()` waits for room.
   * `map`/`imap` chunks count in the queue but are never refused. A whole number ≥ 1, or `'auto'`
   * (processes²). Default `Infinity`.
   * @example `const pool = new Pool({ processes: 4, maxQueue: 100 });`
   */
  maxQueue?: number | 'auto';
  /**
   * The workers' `process.env`. Default: a copy of this program's, taken as each worker starts (as
   * Node's `Worker`). A worker's changes to its `process.env` stay its own.
   * @example `new Pool({ env: { ...process.env, LOG_LEVEL: 'debug' } })`
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Appended to each worker's `process.argv` (its first two entries are Node's path and a placeholder
   * for the script, so these start at `process.argv[2]`).
   * @example `new Pool({ argv: ['--mode', 'fast'] }) // process.argv.slice(2) in a task: ['--mode', 'fast']`
   */
  argv?: readonly string[];
  /**
   * Node's options for each worker, its `process.execArgv`, instead of this program's. A thread takes
   * Node's per-thread options only (such as `--conditions`, `--enable-source-maps`, `--no-deprecation`);
   * V8 and process-wide ones (`--max-old-space-size`) are refused with `ERR_MP_INVALID_ARG` when a worker
   * starts: give memory limits as `resourceLimits`. Default: this program's `process.execArgv`.
   * @example `new Pool({ execArgv: ['--conditions=development'] })`
   */
  execArgv?: readonly string[];
  /**
   * Names the workers `${name}-1`, `${name}-2`… instead of `PoolWorker-N`: in `currentProcess().name`
   * inside a task, in error reports, and as the thread's name in debuggers and heap snapshots.
   * @example `new Pool({ name: 'thumbnails' }) // currentProcess().name in a task: 'thumbnails-1'`
   */
  name?: string;
  /**
   * Where the workers run, as Python's `Pool(context=…)`: `'thread'` (worker threads) or `'process'`
   * (child processes), or a context from `getContext()`. Default: the current start method
   * (`setStartMethod()`, else `'thread'`).
   * @example `new Pool({ processes: 2, context: 'process' }) // two child processes`
   */
  context?: StartMethod | { readonly startMethod: StartMethod };
}

/**
 * What a task's `transfer` list takes: an `ArrayBuffer` or a `MessagePort` moves into the worker; a
 * `SharedArrayBuffer` is shared anyway, so it may be listed and is left out. (Our own type: Node's
 * `TransferListItem` is gone from current `@types/node`.)
 */
export type TransferItem = Movable | SharedArrayBuffer;

/** Per-call options. */
export interface TaskOptions {
  /**
   * Aborting removes queued tasks and stops running ones; a running one rejects once its worker has
   * exited (a replacement starts).
   */
  signal?: AbortSignal;
  /**
   * Milliseconds a task may run, counted from when it starts; then it is stopped with `TimeoutError`,
   * which arrives once its worker has exited. `undefined` or `Infinity`: no limit.
   */
  timeout?: number;
  /**
   * `apply` only: buffers (or ports) in the arguments to move into the worker instead of copying
   * (zero-copy; they become unusable here), as `postMessage`'s transfer list. A `SharedArrayBuffer` may be
   * listed: it is shared anyway. Anything else is a `TypeError` at the call.
   */
  transfer?: readonly TransferItem[];
  /**
   * Larger starts first (an extension); default 0; equal priorities start in submission order. For
   * `map`/`imap`, every chunk of the call has it. Aging keeps any task from starving: one unit of
   * priority is worth 1,000 submissions (`AGING`), so a task is overtaken by at most 1,000 later tasks
   * per unit of priority they have above it. A task already handed to a worker is not overtaken.
   * @example `await pool.apply(urgent, [x], { priority: 10 });`
   */
  priority?: number;
  /**
   * Called as items finish: `(done, total)`; `total` is `undefined` for `imap`. If it throws, the error is
   * reported on stderr and the result is unaffected.
   */
  onProgress?: (done: number, total: number | undefined) => void;
}

/**
 * A function a pool can run: exported from a module, self-contained, or `{ module, name }`.
 *
 * The pool's methods take it through two overloads, a plain function first: TypeScript infers nothing
 * from a generic function (`identity<T>(x: T): T`) passed where this union is expected, so the plain
 * overload is what lets the types of `pool.map(identity, [1, 2])` and `pool.apply(calculate, [mul, [3, 7]])`
 * flow; the second takes a reference, or a value typed as this union.
 */
export type PoolFunction<A extends unknown[], R> = ((...args: A) => R) | FunctionReference;

type State = 'run' | 'close' | 'terminate';

// With the default chunking, how many chunks of one map each worker may hold (running and queued).
const CHUNKS_PER_WORKER = 2;

/**
 * The one place the local pool chooses what runs its tasks: the local scheduler, on worker threads.
 * (The distributed `Pool` gives `PoolBase` the cluster executor instead; options only local workers
 * understand, such as `resourceLimits` and `execArgv`, stop here.)
 */
function createExecutor(options: PoolSettings): Executor {
  return new Scheduler({
    processes: options.processes,
    minProcesses: options.minProcesses,
    idleTimeout: options.idleTimeout,
    initializer: options.initializer === undefined ? null : toWireFunction(options.initializer, 'initializer'),
    initargs: pack(options.initargs, 'initargs'),
    maxTasksPerChild: options.maxTasksPerChild,
    concurrentTasksPerWorker: options.concurrentTasksPerWorker,
    resourceLimits: options.resourceLimits,
    env: options.env,
    argv: options.argv,
    execArgv: options.execArgv,
    name: options.name,
    startMethod: currentStartMethod(),
  });
}

function queueFull(maxQueue: number): Error {
  return misuse(
    Error,
    'ERR_MP_QUEUE_FULL',
    `the pool's queue is full (maxQueue: ${maxQueue} tasks waiting): await pool.drained() before submitting more, or raise maxQueue`,
  );
}

function poolTerminated(): Error {
  return misuse(Error, 'ERR_MP_POOL_TERMINATED', 'the pool was terminated before this task finished');
}

/** What the pool surface runs on: its size, its backpressure limit and its executor. */
export interface PoolCore {
  /** Tasks (or chunks) the executor runs at once: chunking and `imap`'s window are sized by it. */
  readonly processes: number;
  /** Queued tasks at which `apply` is refused (`Infinity`: never). */
  readonly maxQueue: number;
  readonly executor: Executor;
  /** The chunk size of `map` and `imap` calls that give none; `undefined`: guided for `map`, 1 for `imap`. */
  readonly chunksize?: number | undefined;
}

/**
 * Python's pool surface (`apply`, `map`, `imap`, `AsyncResult`, callbacks, lifecycle) over any executor:
 * the local `Pool` below runs it on worker threads, `multiprocessing/distributed`'s `Pool` on a cluster.
 * A subclass chooses the executor, and may narrow which functions and values it accepts (`wireOf`,
 * `packOf`): a cluster takes only functions its workers import, and no shared memory.
 */
export class PoolBase {
  /** How many workers the pool runs at most (all of them, unless `minProcesses` made it elastic). */
  readonly processes: number;
  /**
   * Queued tasks at which `apply` is refused (`Infinity`: no limit; `'auto'` is resolved to processes²);
   * see `PoolOptions.maxQueue`.
   * @example `new Pool({ processes: 4, maxQueue: 'auto' }).maxQueue; // 16`
   */
  readonly maxQueue: number;
  readonly #executor: Executor;
  #state: State = 'run';
  /** The `imap`s still reading their input: `close()` lets them finish, `terminate()` stops them. */
  readonly #iterators = new Set<IMapIterator<unknown>>();
  // The inputs of maps being read, each ended by terminate() (see #readInput).
  readonly #inputReads = new Set<(error: Error) => void>();
  /** Rejections once terminated are the caller's to handle, never an unhandled-rejection crash. */
  readonly #quiet = (): boolean => this.#state === 'terminate';

  readonly #chunksize: number | undefined;

  protected constructor(core: PoolCore) {
    this.processes = core.processes;
    this.maxQueue = core.maxQueue;
    this.#executor = core.executor;
    this.#chunksize = core.chunksize;
  }

  /** How `fn` travels to the workers; a `TypeError` naming the fix when it cannot. */
  protected wireOf(fn: unknown): WireFunction {
    checkFunction(fn, 'fn');
    return toWireFunction(fn as Function | FunctionReference, 'fn');
  }

  /**
   * The chunk size of a `map` of `length` items that gives none: the pool's `chunksize`, or
   * `undefined` for guided chunks (see chunks.ts), which suit a worker a few microseconds away.
   */
  protected defaultMapChunksize(length: number): number | undefined {
    void length;
    return this.#chunksize;
  }

  /** How arguments and items travel (`path` names them in errors): see `transport/pack.ts`. */
  protected packOf(value: unknown, path: string): Packed {
    return pack(value, path);
  }

  // ---- backpressure and metrics (extensions) ----------------------------------------------------

  /**
   * Whether the queue is full: `apply` would be refused with `ERR_MP_QUEUE_FULL` now (always `false`
   * without `maxQueue`).
   * @example `if (pool.needsDrain) await pool.drained();`
   */
  get needsDrain(): boolean {
    return this.#executor.queued >= this.maxQueue;
  }

  /**
   * Resolves once the queue has room for one more `apply` (fewer than `maxQueue` tasks queued): at
   * once if it has room already, or has no `maxQueue`. Several producers woken together may still find
   * it full again: loop on `needsDrain`. It also resolves once the pool is terminated (its queue is
   * empty then; the next `apply` rejects as usual).
   * @example
   * ```ts
   * for (const x of inputs) {
   *   while (pool.needsDrain) await pool.drained();
   *   results.push(pool.apply(work, [x]));
   * }
   * ```
   */
  drained(): Promise<void> {
    return this.#executor.drained(this.maxQueue);
  }

  /**
   * A snapshot of the pool's counts, time summaries (ms) and utilization: see `PoolStats`. Always on,
   * and cheap (constant memory, no per-task allocation).
   * @example `const { queued, running, completed, runTime } = pool.stats(); console.log(runTime.p99);`
   */
  stats(): PoolStats {
    return this.#executor.stats();
  }

  /**
   * How many workers are alive now: `processes` in a fixed pool (less only while one is replaced);
   * in an elastic pool, from `minProcesses` up to `processes` as the work asks. A worker retiring counts
   * until it has exited.
   * @example `new Pool({ processes: 4, minProcesses: 0 }).size // 0: none started before a task`
   */
  get size(): number {
    return this.#executor.size;
  }

  // ---- one call ---------------------------------------------------------------------------------

  /**
   * Runs `fn(...args)` in a worker.
   * @example `const y = await pool.apply(cube, [3]); // 27`
   */
  apply<A extends unknown[], R>(fn: (...args: A) => R, args?: A, options?: TaskOptions): Promise<Awaited<R>>;
  /** `apply` of a `{ module, name }` reference (its result is `unknown`), or of a `PoolFunction`. */
  apply<A extends unknown[], R>(fn: PoolFunction<A, R>, args?: A, options?: TaskOptions): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: PoolFunction<A, R>, args?: A, options?: TaskOptions): Promise<Awaited<R>> {
    try {
      this.#assertRunning();
      const settings = checkTaskOptions(options, 'apply');
      if (this.#executor.queued >= this.maxQueue) throw queueFull(this.maxQueue);
      const wire = this.wireOf(fn);
      const packed = this.packOf(checkArgs(args), 'args');
      const { onProgress } = settings;
      // One promise per task, settled straight from the executor's callbacks: with 200,000 tasks in
      // flight, every extra promise or tuple per task showed up as garbage-collector time (W1b).
      let result: Promise<Awaited<R>> | undefined;
      result = new Promise((resolve, reject) => {
        const fail = (error: unknown): void => rejectQuietlyWhen(() => result, reject, error, this.#quiet);
        this.#executor.submit({
          fn: wire,
          mode: TaskMode.Apply,
          data: packed.value,
          live: packed.live,
          timeout: settings.timeout,
          signal: settings.signal,
          priority: settings.priority,
          transfer: settings.transfer,
          base: undefined,
          onResult: (outcome, value) => {
            if (outcome !== Outcome.Ok) return fail(value);
            if (onProgress) runUserCallback('an onProgress callback', () => onProgress(1, 1));
            resolve(value as Awaited<R>);
          },
          onError: fail,
        });
      });
      return result;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `apply`, returning an `AsyncResult`; `callback`/`errorCallback` run when it settles.
   * @example `const r = pool.applyAsync(cube, [3], { callback: console.log }); await r.get();`
   */
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    args?: A,
    options?: TaskOptions & Callbacks<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    args?: A,
    options?: TaskOptions & Callbacks<Awaited<R>>,
  ): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    args?: A,
    options?: TaskOptions & Callbacks<Awaited<R>>,
  ): AsyncResult<Awaited<R>> {
    return new AsyncResult(this.apply(fn, args, options), options, this.#quiet);
  }

  // ---- many calls -------------------------------------------------------------------------------

  /**
   * `fn` over every item, in chunks; results in input order. By default the chunks start at Python's size
   * (about four per worker) and get smaller toward the end, so that the workers finish together; an explicit
   * `chunksize` is used as given. Chunks of numbers and of small records travel as compact blocks.
   * If items fail, it rejects with the first failure (in input order) once every chunk has finished.
   * @example `const cubes = await pool.map(cube, [1, 2, 3]); // [1, 8, 27]`
   */
  map<T, R>(
    fn: (arg: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]>;
  map<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]>;
  map<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]> {
    return quietWhen(this.#mapChunks(fn, iterable, TaskMode.Map, chunksize, options), this.#quiet) as Promise<Awaited<R>[]>;
  }

  /** `map`, returning an `AsyncResult`. @example `const r = pool.mapAsync(cube, xs); await r.get();` */
  mapAsync<T, R>(
    fn: (arg: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  mapAsync<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  mapAsync<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]> {
    return new AsyncResult(this.map(fn, iterable, chunksize, options), options, this.#quiet);
  }

  /**
   * Like `map`, but each item is an argument list: `fn(...item)`.
   * @example `await pool.starmap((base: number, exp: number) => base ** exp, [[2, 3], [3, 2]]); // [8, 9]`
   */
  starmap<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]>;
  starmap<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]>;
  starmap<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]> {
    return quietWhen(this.#mapChunks(fn, iterable, TaskMode.Starmap, chunksize, options), this.#quiet) as Promise<Awaited<R>[]>;
  }

  /** `starmap`, returning an `AsyncResult`. */
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  starmapAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]>;
  starmapAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]> {
    return new AsyncResult(this.starmap(fn, iterable, chunksize, options), options, this.#quiet);
  }

  /**
   * Lazily maps `fn` over a sync or async iterable, yielding results in input order with a bounded
   * number of chunks in flight. `chunksize` items go in each task (default 1).
   * @example `for await (const y of pool.imap(cube, naturals())) if (y > 1000) break;`
   */
  imap<T, R>(
    fn: (arg: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imap<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imap<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, true, options);
  }

  /** Like `imap`, but yields results as they finish. */
  imapUnordered<T, R>(
    fn: (arg: T) => R,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imapUnordered<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>>;
  imapUnordered<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#iterate(fn, iterable, chunksize, false, options);
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /**
   * No new work; workers exit once the queued work is done. An `imap` already started is not new work:
   * it reads the rest of its input (at once, as Python's does) and delivers every result.
   */
  close(): void {
    if (this.#state === 'run') {
      this.#state = 'close';
      for (const iterator of this.#iterators) iterator.readAll();
      this.#executor.close();
    }
  }

  /**
   * Stops the workers now; every unfinished task rejects, and every `imap` ends (its pending `next()`
   * calls reject). Those rejections reach whoever awaits them but are never reported as unhandled.
   */
  async terminate(): Promise<void> {
    if (this.#state !== 'terminate') {
      this.#state = 'terminate';
      const error = poolTerminated();
      for (const iterator of this.#iterators) iterator.abort(error);
      for (const stop of this.#inputReads) stop(error);
      await this.#executor.terminate(error);
    }
    await this.#executor.joined();
  }

  /** Waits for the workers to exit, after `close()` or `terminate()`. */
  join(): Promise<void> {
    if (this.#state === 'run') {
      return Promise.reject(misuse(Error, 'ERR_MP_POOL_RUNNING', 'Pool is still running: call close() or terminate() before join()'));
    }
    return this.#executor.joined();
  }

  /** `await using pool = new Pool()` closes the pool and waits for its work at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  // ---- internals --------------------------------------------------------------------------------

  #assertRunning(): void {
    if (this.#state !== 'run') throw misuse(Error, 'ERR_MP_POOL_NOT_RUNNING', 'Pool not running: it was closed or terminated');
    const broken = this.#executor.broken;
    if (broken !== undefined) throw broken;
  }

  #run(
    fn: WireFunction,
    mode: TaskMode,
    data: unknown,
    live: boolean,
    options: TaskSettings,
    base?: number,
    transfer?: Transferred[],
  ): Promise<[Outcome | 'error', unknown]> {
    return new Promise((resolve) => {
      this.#executor.submit({
        fn,
        mode,
        data,
        live,
        timeout: options.timeout,
        signal: options.signal,
        priority: options.priority,
        transfer,
        base,
        onResult: (outcome, value) => resolve([outcome, value]),
        onError: (error) => resolve(['error', error]),
      });
    });
  }

  async #mapChunks(
    fn: unknown,
    input: unknown,
    mode: TaskMode,
    requestedChunksize: unknown,
    taskOptions: unknown,
  ): Promise<unknown[]> {
    this.#assertRunning();
    const options = checkTaskOptions(taskOptions, 'map');
    const wire = this.wireOf(fn);
    const requested = checkChunksize(requestedChunksize);
    const iterable = checkIterable(input);
    // The call came before any close(): the pool stays open for it while its input is read and its
    // chunks run (as for an imap). An array is cut at once, in this call.
    const release = Array.isArray(iterable) ? undefined : this.#executor.hold();
    try {
      return await this.#mapItems(wire, iterable, mode, requested, options);
    } finally {
      release?.();
    }
  }

  /** Reads a map's input before its chunks are cut. terminate() ends the read: an input that stalls would hold the call forever. */
  #readInput(iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
    if (!(Symbol.asyncIterator in iterable)) return Promise.resolve(Array.from(iterable));
    const iterator = iterable[Symbol.asyncIterator]();
    return new Promise<unknown[]>((resolve, reject) => {
      const stop = (error: Error): void => {
        reject(error);
        closeInput(iterator);
      };
      this.#inputReads.add(stop);
      collect(iterator)
        .then(resolve, reject)
        .finally(() => this.#inputReads.delete(stop));
    });
  }

  async #mapItems(
    wire: WireFunction,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    mode: TaskMode,
    requested: number | undefined,
    options: TaskSettings,
  ): Promise<unknown[]> {
    const items = Array.isArray(iterable) ? (iterable as unknown[]) : await this.#readInput(iterable);
    if (mode === TaskMode.Starmap) checkStarmapItems(items);
    if (items.length === 0) return [];
    if (this.#state === 'terminate') throw poolTerminated();
    const broken = this.#executor.broken;
    if (broken !== undefined) throw broken;
    const length = items.length;
    const chunksize = requested ?? this.defaultMapChunksize(length);
    // Numbers and small records need no walk for shared objects, and travel as blocks (see chunks.ts).
    // An input that starts with a number is taken for numbers and checked chunk by chunk as its blocks
    // are cut (`chunkOf`): a walk of the whole input first kept the workers waiting (5 ms for 5,000,000).
    const numeric = mode === TaskMode.Map && typeof items[0] === 'number';
    const keys = mode === TaskMode.Map && !numeric ? recordKeys(items) : undefined;
    const packed = numeric || keys !== undefined ? { value: items, live: false } : this.packOf(items, 'iterable');
    const mostRecords = keys === undefined ? Infinity : recordsPerChunk(items, keys);
    const source = packed.value as unknown[];
    // The results array is made once the first chunks are on their way: making a large one takes a while
    // (5,000,000 holes: about 30 ms here), which the workers would otherwise spend waiting.
    let made: unknown[] | undefined;
    const results = (): unknown[] => (made ??= new Array<unknown>(length));
    // A chunk as plain items. Taken for numbers, it is checked, and packed item by item (so that an error
    // names the item's index in the whole input) if it holds anything else.
    const chunkOf = (base: number, size: number): Packed => {
      const chunk = size === length ? source : source.slice(base, base + size);
      if (!numeric || allNumbers(chunk)) return { value: chunk, live: packed.live };
      let live = false;
      const value = chunk.map((item, i) => {
        const one = this.packOf(item, `iterable[${base + i}]`);
        live ||= one.live;
        return one.value;
      });
      return { value, live };
    };
    // With the default (guided) chunking, a few chunks per worker are handed to the executor at a time
    // and the next is cut as one finishes, so each worker takes the next chunk when it has room: handed
    // all at once, they were split between the workers by count (the pipelining depth of dispatch.ts
    // comes from earlier tasks, which may have been tiny), and one worker got the large early chunks.
    const window = chunksize === undefined ? CHUNKS_PER_WORKER * this.processes : Infinity;
    return new Promise((resolve, reject) => {
      let firstError: { index: number; error: unknown } | undefined;
      let next = 0; // the first item not yet handed over
      let outstanding = 0;
      let done = 0;
      let pumping = false;
      const fail = (index: number, error: unknown): void => {
        if (firstError === undefined || index < firstError.index) firstError = { index, error };
      };
      const finished = (count: number): void => {
        done += count;
        const { onProgress } = options;
        if (onProgress) runUserCallback('an onProgress callback', () => onProgress(done, length));
        if (done === length) {
          if (firstError !== undefined) reject(firstError.error);
          else resolve(results());
        }
      };
      const record = (base: number, count: number, outcome: Outcome | 'error', value: unknown): void => {
        // The common case, kept free of per-item allocations.
        if (outcome === Outcome.Ok) copyResults(value as ArrayLike<unknown>, results(), base);
        else {
          const chunk = chunkResults(outcome, value, count, base);
          if (chunk.failure !== undefined) fail(base, chunk.failure.error);
          else {
            const into = results();
            for (let i = 0; i < count; i++) into[base + i] = chunk.values![i];
            for (const [index, error] of chunk.errors!) fail(base + index, error);
          }
        }
        finished(count);
      };
      const settled = (base: number, count: number, outcome: Outcome | 'error', value: unknown): void => {
        outstanding -= 1;
        // The next chunk is handed over at once, inside the executor's handling of this result: after
        // `close()`, a pool with nothing queued at the end of it retires its workers. The results are
        // copied after that handling, which sends the next chunks first.
        pump();
        queueMicrotask(() => record(base, count, outcome, value));
      };
      // Guided chunks, at first one per worker: cutting a chunk of numbers takes a while, and the workers
      // start once the chunks handed over in this turn are sent (at its end); the rest of the window
      // follows in the next turn. Chunks of a given size are all handed over at once, in order with the
      // tasks submitted after this call.
      let limit = chunksize === undefined ? Math.min(window, this.processes) : window;
      const pump = (): void => {
        // A chunk refused as it is handed over (an aborted signal) settles inside `submit`.
        if (pumping) return;
        pumping = true;
        try {
          while (outstanding < limit && next < length) {
            if (this.#state === 'terminate') {
              // Chunks handed over after terminate() would never run.
              fail(next, poolTerminated());
              const rest = length - next;
              next = length;
              queueMicrotask(() => finished(rest));
              break;
            }
            const base = next;
            const size = chunkSizeAt(base, length, this.processes, chunksize, mostRecords);
            next += size;
            const block = numeric && worthABlock(size) ? numberBlock(source, base, base + size) : undefined;
            const records = keys !== undefined && worthABlock(size) ? toColumns(source, base, base + size, keys) : undefined;
            let chunk: Packed;
            try {
              chunk = block ?? records ? { value: block ?? records, live: false } : chunkOf(base, size);
            } catch (error) {
              fail(base, error);
              queueMicrotask(() => finished(size));
              continue;
            }
            outstanding += 1;
            this.#executor.submit({
              fn: wire,
              mode,
              data: chunk.value,
              live: chunk.live,
              timeout: options.timeout,
              signal: options.signal,
              priority: options.priority,
              transfer: block === undefined ? undefined : [block.buffer as ArrayBuffer],
              base,
              onResult: (outcome, value) => settled(base, size, outcome, value),
              onError: (error) => settled(base, size, 'error', error),
            });
          }
        } finally {
          pumping = false;
        }
      };
      pump();
      limit = window;
      // The rest of the window is cut and sent in the next turn, and the results array made in the one
      // after, so that making it does not hold those chunks back.
      setImmediate(() => {
        pump();
        setImmediate(results);
      });
    });
  }

  #iterate<R>(
    fn: unknown,
    input: unknown,
    requestedChunksize: unknown,
    ordered: boolean,
    taskOptions: unknown,
  ): AsyncIterableIterator<R> {
    this.#assertRunning();
    const options = checkTaskOptions(taskOptions, 'map');
    const chunksize = checkChunksize(requestedChunksize === undefined ? this.#chunksize : requestedChunksize) ?? 1;
    const iterable = checkIterable(input);
    const wire = this.wireOf(fn);
    const mode = TaskMode.Map;
    const { onProgress } = options;
    let done = 0;
    // Until its input is read to the end, an imap holds the pool open: close() does not stop a started
    // imap (as in Python), it makes it read the rest of its input at once.
    const release = this.#executor.hold();
    const iterator: IMapIterator<R> = new IMapIterator<R>(iterable, {
      chunksize,
      ordered,
      window: this.processes * 4,
      run: (items, base) => {
        try {
          // Small records travel as columns, as in `map`.
          const keys = worthABlock(items.length) ? recordKeys(items) : undefined;
          if (keys !== undefined) return this.#run(wire, mode, toColumns(items, 0, items.length, keys), false, options, base);
          const packed = this.packOf(items, `iterable[${base}…]`);
          return this.#run(wire, mode, packed.value, packed.live, options, base);
        } catch (error) {
          return Promise.resolve(['error', error]);
        }
      },
      onItem: (count) => {
        done += count;
        if (onProgress) runUserCallback('an onProgress callback', () => onProgress(done, undefined));
      },
      onInputEnd: () => {
        this.#iterators.delete(iterator);
        release();
      },
      quiet: this.#quiet,
    });
    this.#iterators.add(iterator);
    return iterator;
  }
}

/**
 * A pool of workers that run functions in parallel.
 *
 * @example
 * ```ts
 * // tasks.ts
 * export const cube = (x: number) => x * x * x;
 * // main.ts
 * await using pool = new Pool(4);
 * const cubes = await pool.map(cube, [1, 2, 3]); // [1, 8, 27], typed number[]
 * ```
 */
export class Pool extends PoolBase {
  constructor(processes?: number, options?: Omit<PoolOptions, 'processes'>);
  constructor(options?: PoolOptions);
  constructor(processesOrOptions?: number | PoolOptions, options?: Omit<PoolOptions, 'processes'>) {
    // Every argument is checked, so that an extra one (Python's positional initializer) is refused.
    const settings = checkPoolOptions(arguments.length > 2 ? Array.from(arguments) : [processesOrOptions, options], cpuCount);
    const start = (): Executor => {
      assertMayStartChildren();
      return createExecutor(settings);
    };
    const executor = settings.startMethod === undefined ? start() : withStartMethod(settings.startMethod, start);
    super({ processes: settings.processes, maxQueue: settings.maxQueue, executor });
  }
}

async function collect(iterator: AsyncIterator<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  for (;;) {
    const step = await iterator.next();
    if (step.done === true) return items;
    items.push(step.value);
  }
}

// Closes an input whose read was abandoned (a generator's `finally` runs), as `break` would; its own
// errors do not matter any more.
function closeInput(iterator: AsyncIterator<unknown>): void {
  try {
    iterator.return?.().catch(() => {});
  } catch {
    // a generator that is running cannot be closed; it stops at its next step anyway
  }
}
