/**
 * The seam under `Pool`: what the Python surface (`pool.ts`: chunking, `imap`, `AsyncResult`,
 * callbacks) needs from whatever runs its tasks. The local scheduler (`scheduler.ts`, worker threads on
 * this machine) is one executor; the cluster executor (`distributed/executor.ts`: tasks dispatched
 * through Redis) is another.
 *
 * So nothing here names a thread, a port or a memory limit: a task is a wire function, a mode and its
 * data, and the executor reports back once, through the task's own callbacks (no promise per task: with
 * 200,000 tasks in flight, each extra promise showed up as garbage-collector time in W1b). Options that
 * only one executor understands (`resourceLimits` for threads) go to that executor's constructor.
 *
 * The contract every executor keeps:
 * - each submitted task settles exactly once, through `onResult` or `onError`, never both;
 * - a task submitted after `terminate()`, or once the executor is `broken`, fails at once (inside
 *   `submit`) instead of waiting in a queue nobody serves;
 * - after `close()`, the queued work and the work of every `hold()` still run; then the workers leave
 *   and `joined()` resolves.
 */
import type { WireFunction } from '../transport/wire-function.js';
import type { Movable } from '../runtime/child.js';
import type { Packed } from '../transport/payload.js';
import type { Outcome, TaskMode } from './protocol.js';
import type { PoolStats } from './stats.js';

/**
 * What may move into the worker with a task instead of being copied (it becomes unusable here). Shared
 * buffers are never listed (the pool leaves them out): they are shared anyway. An executor that cannot
 * move memory copies buffers and refuses ports.
 */
export type Transferred = Movable;

/** A task as an executor sees it. The pool layer supplies what to run and what to do with the outcome. */
export interface ScheduledTask {
  readonly fn: WireFunction;
  readonly mode: TaskMode;
  /** The argument list (`apply`), or a chunk's items (a plain array or a block, see chunks.ts). */
  readonly data: unknown;
  /** `data` was packed (it holds shared objects or class instances) and is revived in the worker. */
  readonly live: boolean;
  /** Milliseconds it may run once started; `undefined` for no limit. */
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * With a `signal`: the task is pipelined with others on its worker instead of running alone there, and
   * an abort while its worker holds it stops that worker, whose other unfinished tasks then run again
   * elsewhere (so a task may run twice). For callers whose tasks run at least once anyway: the cluster
   * worker, whose tiny jobs would otherwise cross to a thread one by one.
   */
  readonly interruptible?: boolean | undefined;
  /** Larger starts first; equal priorities in submission order, with aging (see pending.ts). Default 0. */
  readonly priority?: number | undefined;
  readonly transfer?: readonly Transferred[] | undefined;
  /** For a `map`/`imap` chunk: the input index of its first item, so errors name the right item. */
  readonly base?: number | undefined;
  /**
   * Called once with the worker's outcome (see `Outcome`); `value` is already deserialized for failures.
   * `ranMs`, when the executor knows it: how long the task ran in its worker (the cluster's worker
   * command reports it to the driver, which sizes its bundles of tiny tasks by it).
   */
  onResult(outcome: Outcome, value: unknown, ranMs?: number): void;
  /** Called once when the task cannot finish (worker lost, timeout, abort, terminate). */
  onError(error: unknown): void;
}

/** What every executor is built from: the pool's own options, already checked and made wire-ready. */
export interface ExecutorSettings {
  /** The most workers that run tasks at once. */
  readonly processes: number;
  /**
   * The fewest workers: started at once and kept. Between the two, workers start as tasks wait for
   * one and retire after `idleTimeout` ms idle. Equal to `processes`: a fixed pool (Python's).
   */
  readonly minProcesses: number;
  /** Milliseconds a worker above `minProcesses` may stay idle before it retires; `Infinity`: never. */
  readonly idleTimeout: number;
  /** Runs once in each new worker before its first task. */
  readonly initializer: WireFunction | null;
  readonly initargs: Packed;
  /** A worker is replaced after this many tasks (a chunk counts as one); `null`: never. */
  readonly maxTasksPerChild: number | null;
  /**
   * How many tasks one worker may run at once: a task that returns a promise lets the next ones start
   * while it awaits. 1: one at a time, as Python's workers.
   */
  readonly concurrentTasksPerWorker: number;
}

/**
 * Runs a pool's tasks.
 *
 * @example
 * ```ts
 * const executor: Executor = new Scheduler({
 *   processes: 2, minProcesses: 2, idleTimeout: Infinity, initializer: null, initargs, maxTasksPerChild: null, startMethod: 'thread',
 * });
 * executor.submit({ fn, mode: TaskMode.Apply, data: [3], live: false, onResult: (outcome, value) => {}, onError: () => {} });
 * executor.close();
 * await executor.joined();
 * ```
 */
export interface Executor {
  /** How many workers are alive now. */
  readonly size: number;
  /** The error that broke the executor (its workers keep failing to start), if any; from then on every task fails with it. */
  readonly broken: unknown;
  /** Tasks queued and not yet handed to a worker (what a pool's `maxQueue` bounds). */
  readonly queued: number;
  /** Queues a task; it settles once, through its callbacks (at once when it is refused). */
  submit(task: ScheduledTask): void;
  /**
   * Resolves once fewer than `limit` tasks are queued: at once if they already are (and once the
   * executor is terminated or broken, whose queue is empty).
   */
  drained(limit: number): Promise<void>;
  /** The counts and time summaries of `pool.stats()`, now. */
  stats(): PoolStats;
  /** No new tasks: workers leave once the queued ones are done and every hold is released. */
  close(): void;
  /**
   * Keeps the workers after `close()` until the returned function is called (calling it again does
   * nothing): for an `imap` that will still submit chunks of its input.
   */
  hold(): () => void;
  /** Stops every worker now and rejects every unfinished task with `error`; resolves once they have exited. */
  terminate(error: Error): Promise<void>;
  /** Resolves once every worker has exited (after `close` and the work, or `terminate`). */
  joined(): Promise<void>;
}
