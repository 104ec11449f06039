/**
 * `Pool`: Python's process pool. This module is the API: arguments, chunking, results in order,
 * callbacks and lifecycle. Who runs what, and what happens when a worker dies, is `scheduler.ts`.
 */
import type { ResourceLimits, TransferListItem } from 'node:worker_threads';
import { cpuCount } from '../runtime/cpu-count.js';
import { assertMayStartChildren } from '../runtime/identity.js';
import { toWireFunction, type FunctionReference, type WireFunction } from '../transport/function-ref.js';
import { pack } from '../transport/payload.js';
import { misuse } from '../errors.js';
import { Scheduler } from './scheduler.js';
import { AsyncResult, type Callbacks } from './async-result.js';
import { IMapIterator } from './imap.js';
import { allNumbers, checkChunksize, chunkSizeAt, copyResults, forEachItem, numberBlock, recordKeys, toColumns, worthABlock } from './chunks.js';
import { Outcome, TaskMode } from './protocol.js';

/** Options of `new Pool({...})`, as Python's keyword arguments. */
export interface PoolOptions {
  /** How many workers; default `cpuCount()`. */
  processes?: number;
  /** Runs once in each new worker before its first task. */
  initializer?: ((...args: never[]) => unknown) | FunctionReference;
  /** The initializer's arguments. */
  initargs?: unknown[];
  /** Replace a worker after it has run this many tasks (a `map` chunk counts as one). Default: never. */
  maxTasksPerChild?: number | null;
  /** Memory limits of each worker (Node's `worker_threads` option); a worker that exceeds them is lost. */
  resourceLimits?: ResourceLimits;
}

/** Per-call options. */
export interface TaskOptions {
  /** Aborting removes queued tasks and stops running ones (their worker is replaced). */
  signal?: AbortSignal;
  /** Milliseconds a task may run, counted from when it starts; then it is stopped with `TimeoutError`. */
  timeout?: number;
  /**
   * `apply` only: buffers in the arguments to move into the worker instead of copying (zero-copy; they
   * become unusable here), as `postMessage`'s transfer list.
   */
  transfer?: readonly TransferListItem[];
  /** Called as items finish: `(done, total)`; `total` is `undefined` for `imap` until the input ends. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** A function a pool can run: exported from a module, self-contained, or `{ module, name }`. */
export type PoolFunction<A extends unknown[], R> = ((...args: A) => R) | FunctionReference;

type State = 'run' | 'close' | 'terminate';

// With the default chunking, how many chunks of one map each worker may hold (running and queued).
const CHUNKS_PER_WORKER = 2;

function poolTerminated(): Error {
  return misuse(Error, 'ERR_MP_POOL_TERMINATED', 'the pool was terminated before this task finished');
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
export class Pool {
  /** How many workers the pool keeps. */
  readonly processes: number;
  readonly #scheduler: Scheduler;
  #state: State = 'run';

  constructor(processesOrOptions?: number | PoolOptions) {
    const options: PoolOptions =
      typeof processesOrOptions === 'object' && processesOrOptions !== null
        ? processesOrOptions
        : { processes: processesOrOptions as number | undefined };
    const processes = options.processes ?? cpuCount();
    if (!Number.isInteger(processes) || processes < 1) {
      throw misuse(RangeError, 'ERR_MP_POOL_SIZE', `Number of processes must be at least 1 (and a whole number), not ${String(processes)}`);
    }
    const max = options.maxTasksPerChild ?? null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) {
      throw misuse(RangeError, 'ERR_MP_MAX_TASKS', `maxTasksPerChild must be a positive integer or null, not ${String(max)}`);
    }
    if (options.initargs !== undefined && !Array.isArray(options.initargs)) {
      throw new TypeError('initargs must be an array of the initializer\'s arguments');
    }
    assertMayStartChildren();
    this.processes = processes;
    this.#scheduler = new Scheduler({
      processes,
      initializer: options.initializer === undefined ? null : toWireFunction(options.initializer, 'initializer'),
      initargs: pack(options.initargs ?? [], 'initargs'),
      maxTasksPerChild: max,
      resourceLimits: options.resourceLimits,
    });
  }

  // ---- one call ---------------------------------------------------------------------------------

  /**
   * Runs `fn(...args)` in a worker.
   * @example `const y = await pool.apply(cube, [3]); // 27`
   */
  apply<A extends unknown[], R>(fn: PoolFunction<A, R>, args?: A, options?: TaskOptions): Promise<Awaited<R>> {
    try {
      this.#assertRunning();
      const wire = toWireFunction(fn as Function | FunctionReference, 'fn');
      const packed = pack(args ?? [], 'args');
      return this.#run(wire, TaskMode.Apply, packed.value, packed.live, options).then(([outcome, value]) => {
        if (outcome !== Outcome.Ok) throw value;
        options?.onProgress?.(1, 1);
        return value as Awaited<R>;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `apply`, returning an `AsyncResult`; `callback`/`errorCallback` run when it settles.
   * @example `const r = pool.applyAsync(cube, [3], { callback: console.log }); await r.get();`
   */
  applyAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    args?: A,
    options?: TaskOptions & Callbacks<Awaited<R>>,
  ): AsyncResult<Awaited<R>> {
    return new AsyncResult(this.apply(fn, args, options), options);
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
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]> {
    return this.#mapChunks(fn as Function | FunctionReference, iterable, TaskMode.Map, chunksize, options) as Promise<Awaited<R>[]>;
  }

  /** `map`, returning an `AsyncResult`. @example `const r = pool.mapAsync(cube, xs); await r.get();` */
  mapAsync<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]> {
    return new AsyncResult(this.map(fn, iterable, chunksize, options), options);
  }

  /**
   * Like `map`, but each item is an argument list: `fn(...item)`.
   * @example `await pool.starmap(Math.pow as never, [[2, 3], [3, 2]]); // [8, 9]`
   */
  starmap<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions,
  ): Promise<Awaited<R>[]> {
    return this.#mapChunks(fn as Function | FunctionReference, iterable, TaskMode.Starmap, chunksize, options) as Promise<
      Awaited<R>[]
    >;
  }

  /** `starmap`, returning an `AsyncResult`. */
  starmapAsync<A extends unknown[], R>(
    fn: PoolFunction<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    chunksize?: number,
    options?: TaskOptions & Callbacks<Awaited<R>[]>,
  ): AsyncResult<Awaited<R>[]> {
    return new AsyncResult(this.starmap(fn, iterable, chunksize, options), options);
  }

  /**
   * Lazily maps `fn` over a sync or async iterable, yielding results in input order with a bounded
   * number of chunks in flight.
   * @example `for await (const y of pool.imap(cube, naturals())) if (y > 1000) break;`
   */
  imap<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize = 1,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#iterate(fn as Function | FunctionReference, iterable, chunksize, true, options);
  }

  /** Like `imap`, but yields results as they finish. */
  imapUnordered<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize = 1,
    options?: TaskOptions,
  ): AsyncIterableIterator<Awaited<R>> {
    return this.#iterate(fn as Function | FunctionReference, iterable, chunksize, false, options);
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** No new work; workers exit once the queued work is done. */
  close(): void {
    if (this.#state === 'run') {
      this.#state = 'close';
      this.#scheduler.close();
    }
  }

  /** Stops the workers now; every unfinished task rejects. */
  async terminate(): Promise<void> {
    if (this.#state !== 'terminate') {
      this.#state = 'terminate';
      await this.#scheduler.terminate(poolTerminated());
    }
    await this.#scheduler.joined();
  }

  /** Waits for the workers to exit, after `close()` or `terminate()`. */
  join(): Promise<void> {
    if (this.#state === 'run') {
      return Promise.reject(misuse(Error, 'ERR_MP_POOL_RUNNING', 'Pool is still running: call close() or terminate() before join()'));
    }
    return this.#scheduler.joined();
  }

  /** `await using pool = new Pool()` closes the pool and waits for its work at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  // ---- internals --------------------------------------------------------------------------------

  #assertRunning(): void {
    if (this.#state !== 'run') throw misuse(Error, 'ERR_MP_POOL_NOT_RUNNING', 'Pool not running: it was closed or terminated');
    const broken = this.#scheduler.broken;
    if (broken !== undefined) throw broken;
  }

  #run(
    fn: WireFunction,
    mode: TaskMode,
    data: unknown,
    live: boolean,
    options: TaskOptions | undefined,
    base?: number,
    transfer?: TransferListItem[],
  ): Promise<[Outcome | 'error', unknown]> {
    return new Promise((resolve) => {
      this.#scheduler.submit({
        fn,
        mode,
        data,
        live,
        timeout: options?.timeout,
        signal: options?.signal,
        transfer: transfer ?? (mode === TaskMode.Apply ? options?.transfer : undefined),
        base,
        onResult: (outcome, value) => resolve([outcome, value]),
        onError: (error) => resolve(['error', error]),
      });
    });
  }

  async #mapChunks(
    fn: Function | FunctionReference,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    mode: TaskMode,
    chunksize: number | undefined,
    options: TaskOptions | undefined,
  ): Promise<unknown[]> {
    this.#assertRunning();
    const wire = toWireFunction(fn, 'fn');
    if (chunksize !== undefined) checkChunksize(chunksize);
    const items = Array.isArray(iterable) ? (iterable as unknown[]) : await collect(iterable);
    if (items.length === 0) return [];
    this.#assertRunning();
    const length = items.length;
    // Numbers and small records need no walk for shared objects, and travel as blocks (see chunks.ts).
    const numeric = mode === TaskMode.Map && allNumbers(items);
    const keys = mode === TaskMode.Map && !numeric ? recordKeys(items) : undefined;
    const packed = numeric || keys !== undefined ? { value: items, live: false } : pack(items, 'iterable');
    const source = packed.value as unknown[];
    const results = new Array<unknown>(length);
    // With the default (guided) chunking, a few chunks per worker are handed to the scheduler at a time
    // and the next is cut as one finishes, so each worker takes the next chunk when it has room: handed
    // all at once, they were split between the workers by count (the scheduler's pipelining depth comes
    // from earlier tasks, which may have been tiny), and one worker got the large early chunks.
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
        try {
          options?.onProgress?.(done, length);
        } catch (error) {
          reject(error);
        }
        if (done === length) {
          if (firstError !== undefined) reject(firstError.error);
          else resolve(results);
        }
      };
      const record = (base: number, count: number, outcome: Outcome | 'error', value: unknown): void => {
        // The common case, kept free of per-item allocations.
        if (outcome === Outcome.Ok) copyResults(value as ArrayLike<unknown>, results, base);
        else forEachItem(outcome, value, count, (index, item) => {
          if (item.ok) results[base + index] = item.value;
          else fail(base + index, item.error);
        });
        finished(count);
      };
      const settled = (base: number, count: number, outcome: Outcome | 'error', value: unknown): void => {
        outstanding -= 1;
        // The next chunk is handed over at once, inside the scheduler's handling of this result: after
        // `close()`, a pool with nothing queued at the end of it retires its workers. The results are
        // copied after that handling, which sends the next chunks first.
        pump();
        queueMicrotask(() => record(base, count, outcome, value));
      };
      const pump = (): void => {
        // A chunk refused as it is handed over (an aborted signal) settles inside `submit`.
        if (pumping) return;
        pumping = true;
        try {
          while (outstanding < window && next < length) {
            if (this.#state === 'terminate') {
              // Chunks handed over after terminate() would never run.
              fail(next, poolTerminated());
              const rest = length - next;
              next = length;
              queueMicrotask(() => finished(rest));
              break;
            }
            const base = next;
            const size = chunkSizeAt(base, length, this.processes, chunksize);
            next += size;
            outstanding += 1;
            const block = numeric && worthABlock(size) ? numberBlock(source, base, base + size) : undefined;
            const records = keys !== undefined && worthABlock(size) ? toColumns(source, base, base + size, keys) : undefined;
            this.#scheduler.submit({
              fn: wire,
              mode,
              data: block ?? records ?? (size === length ? source : source.slice(base, base + size)),
              live: packed.live,
              timeout: options?.timeout,
              signal: options?.signal,
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
    });
  }

  #iterate<R>(
    fn: Function | FunctionReference,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    chunksize: number,
    ordered: boolean,
    options: TaskOptions | undefined,
  ): AsyncIterableIterator<R> {
    this.#assertRunning();
    checkChunksize(chunksize);
    const wire = toWireFunction(fn, 'fn');
    const mode = TaskMode.Map;
    let done = 0;
    return new IMapIterator<R>(iterable, {
      chunksize,
      ordered,
      window: this.processes * 4,
      run: (items, base) => {
        try {
          // Small records travel as columns, as in `map`.
          const keys = worthABlock(items.length) ? recordKeys(items) : undefined;
          if (keys !== undefined) return this.#run(wire, mode, toColumns(items, 0, items.length, keys), false, options, base);
          const packed = pack(items, `iterable[${base}…]`);
          return this.#run(wire, mode, packed.value, packed.live, options, base);
        } catch (error) {
          return Promise.resolve(['error', error]);
        }
      },
      onItem: (count) => {
        done += count;
        options?.onProgress?.(done, undefined);
      },
    });
  }
}

async function collect(iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
  if (Symbol.asyncIterator in iterable) {
    const items: unknown[] = [];
    for await (const item of iterable as AsyncIterable<unknown>) items.push(item);
    return items;
  }
  return Array.from(iterable as Iterable<unknown>);
}
