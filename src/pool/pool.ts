/**
 * `Pool`: Python's process pool. This module is the API: arguments, chunking, results in order,
 * callbacks and lifecycle. Who runs what, and what happens when a worker dies, is `scheduler.ts`; how
 * arguments and options are checked is `options.ts`; how outcomes reach user code (a throwing callback,
 * a rejection caused by `terminate()`) is `delivery.ts`.
 */
import type { MessagePort, ResourceLimits } from 'node:worker_threads';
import { cpuCount } from '../runtime/cpu-count.js';
import { assertMayStartChildren } from '../runtime/identity.js';
import { toWireFunction, type FunctionReference, type WireFunction } from '../transport/function-ref.js';
import { pack } from '../transport/payload.js';
import { misuse } from '../errors.js';
import { Scheduler, type Transferred } from './scheduler.js';
import { AsyncResult, type Callbacks } from './async-result.js';
import { IMapIterator } from './imap.js';
import { allNumbers, defaultChunksize, forEachItem, numberBlock, worthABlock } from './chunks.js';
import { Outcome, TaskMode } from './protocol.js';
import { quietWhen, runUserCallback } from './delivery.js';
import {
  checkArgs,
  checkChunksize,
  checkFunction,
  checkIterable,
  checkPoolOptions,
  checkStarmapItems,
  checkTaskOptions,
  type TaskSettings,
} from './options.js';

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

/**
 * What a task's `transfer` list takes: an `ArrayBuffer` or a `MessagePort` moves into the worker; a
 * `SharedArrayBuffer` is shared anyway, so it may be listed and is left out. (Our own type: Node's
 * `TransferListItem` is gone from current `@types/node`.)
 */
export type TransferItem = ArrayBuffer | SharedArrayBuffer | MessagePort;

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
   * Called as items finish: `(done, total)`; `total` is `undefined` for `imap`. If it throws, the error is
   * reported on stderr and the result is unaffected.
   */
  onProgress?: (done: number, total: number | undefined) => void;
}

/** A function a pool can run: exported from a module, self-contained, or `{ module, name }`. */
export type PoolFunction<A extends unknown[], R> = ((...args: A) => R) | FunctionReference;

type State = 'run' | 'close' | 'terminate';

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
  /** The `imap`s still reading their input: `close()` lets them finish, `terminate()` stops them. */
  readonly #iterators = new Set<IMapIterator<unknown>>();
  /** Rejections once terminated are the caller's to handle, never an unhandled-rejection crash. */
  readonly #quiet = (): boolean => this.#state === 'terminate';

  constructor(processesOrOptions?: number | PoolOptions) {
    const options = checkPoolOptions(processesOrOptions, cpuCount);
    assertMayStartChildren();
    this.processes = options.processes;
    this.#scheduler = new Scheduler({
      processes: options.processes,
      initializer: options.initializer === undefined ? null : toWireFunction(options.initializer, 'initializer'),
      initargs: pack(options.initargs, 'initargs'),
      maxTasksPerChild: options.maxTasksPerChild,
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
      const settings = checkTaskOptions(options, 'apply');
      const wire = this.#wire(fn);
      const packed = pack(checkArgs(args), 'args');
      const { onProgress } = settings;
      const result = this.#run(wire, TaskMode.Apply, packed.value, packed.live, settings, undefined, settings.transfer).then(
        ([outcome, value]) => {
          if (outcome !== Outcome.Ok) throw value;
          if (onProgress) runUserCallback('an onProgress callback', () => onProgress(1, 1));
          return value as Awaited<R>;
        },
      );
      return quietWhen(result, this.#quiet);
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
   * `fn` over every item, in chunks (Python's default size: about four per worker); results in input order.
   * If items fail, it rejects with the first failure (in input order) once every chunk has finished.
   * @example `const cubes = await pool.map(cube, [1, 2, 3]); // [1, 8, 27]`
   */
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
    return quietWhen(this.#mapChunks(fn, iterable, TaskMode.Starmap, chunksize, options), this.#quiet) as Promise<Awaited<R>[]>;
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
    return this.#iterate(fn, iterable, chunksize, true, options);
  }

  /** Like `imap`, but yields results as they finish. */
  imapUnordered<T, R>(
    fn: PoolFunction<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    chunksize = 1,
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
      this.#scheduler.close();
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
      await this.#scheduler.terminate(error);
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

  #wire(fn: unknown): WireFunction {
    checkFunction(fn, 'fn');
    return toWireFunction(fn as Function | FunctionReference, 'fn');
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
      this.#scheduler.submit({
        fn,
        mode,
        data,
        live,
        timeout: options.timeout,
        signal: options.signal,
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
    const wire = this.#wire(fn);
    const chunksize = checkChunksize(requestedChunksize);
    const iterable = checkIterable(input);
    const items = Array.isArray(iterable) ? (iterable as unknown[]) : await collect(iterable);
    if (mode === TaskMode.Starmap) checkStarmapItems(items);
    if (items.length === 0) return [];
    this.#assertRunning();
    const size = chunksize ?? defaultChunksize(items.length, this.processes);
    // Numbers need no walk for shared objects, and travel as moved blocks instead of cloned arrays.
    const numeric = mode === TaskMode.Map && worthABlock(size) && allNumbers(items);
    const packed = numeric ? { value: items, live: false } : pack(items, 'iterable');
    const source = packed.value as unknown[];
    const results = new Array<unknown>(items.length);
    let firstError: { index: number; error: unknown } | undefined;
    let done = 0;
    const chunks: Promise<void>[] = [];
    for (let base = 0; base < items.length; base += size) {
      const end = Math.min(base + size, items.length);
      const block = numeric ? numberBlock(source as number[], base, end) : undefined;
      const chunk = block ?? (size >= items.length ? source : source.slice(base, end));
      const count = end - base; // a block's length reads 0 once its buffer has moved
      const transfer = block === undefined ? undefined : [block.buffer as ArrayBuffer];
      chunks.push(
        this.#run(wire, mode, chunk, packed.live, options, base, transfer).then(([outcome, value]) => {
          if (outcome === Outcome.Ok) {
            // The common case, kept free of per-item allocations.
            const values = value as ArrayLike<unknown>;
            for (let i = 0; i < values.length; i++) results[base + i] = values[i];
          } else forEachItem(outcome, value, count, (index, item) => {
            if (item.ok) results[base + index] = item.value;
            else if (firstError === undefined || base + index < firstError.index) {
              firstError = { index: base + index, error: item.error };
            }
          });
          done += count;
          const { onProgress } = options;
          if (onProgress) runUserCallback('an onProgress callback', () => onProgress(done, items.length));
        }),
      );
    }
    await Promise.all(chunks);
    if (firstError !== undefined) throw firstError.error;
    return results;
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
    const chunksize = checkChunksize(requestedChunksize) ?? 1;
    const iterable = checkIterable(input);
    const wire = this.#wire(fn);
    const mode = TaskMode.Map;
    const { onProgress } = options;
    let done = 0;
    // Until its input is read to the end, an imap holds the pool open: close() does not stop a started
    // imap (as in Python), it makes it read the rest of its input at once.
    const release = this.#scheduler.hold();
    const iterator: IMapIterator<R> = new IMapIterator<R>(iterable, {
      chunksize,
      ordered,
      window: this.processes * 4,
      run: (items, base) => {
        try {
          const packed = pack(items, `iterable[${base}…]`);
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

async function collect(iterable: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
  if (Symbol.asyncIterator in iterable) {
    const items: unknown[] = [];
    for await (const item of iterable as AsyncIterable<unknown>) items.push(item);
    return items;
  }
  return Array.from(iterable as Iterable<unknown>);
}
