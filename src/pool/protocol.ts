/**
 * The messages between a pool and its workers. Tasks travel in batches (one message carries many
 * small tasks), and results come back in batches too, in the order the worker finished them (the order
 * it started them, unless it runs several at once).
 */
import type { WireFunction } from '../transport/wire-function.js';
import type { SerializedThrow } from '../transport/remote-error.js';

/** How a task calls its function: `fn(...args)`, `items.map(fn)`, or `items.map(a => fn(...a))`. */
export const enum TaskMode {
  Apply = 0,
  Map = 1,
  Starmap = 2,
}

/**
 * `[taskId, functionId, mode, data, live, base]`: `data` is the argument list or the chunk's items;
 * `base`, a chunk's only, the index of its first item in the whole input (errors name items by it).
 */
export type WireTask = [id: number, fn: number, mode: TaskMode, data: unknown, live: boolean, base?: number];

export const enum Outcome {
  /** `value` is the result (for a chunk: the array of results). */
  Ok = 0,
  /** `value` is the serialized error. */
  Failed = 1,
  /** A chunk where some items failed: `value` is a `ChunkOutcome`. */
  Partial = 2,
}

/**
 * `[taskId, outcome, value, live]`: `live` when `value` (for a chunk: its results) was packed because it
 * holds shared objects or class instances (see `transport/payload.ts`).
 */
export type WireResult = [id: number, outcome: Outcome, value: unknown, live?: true];

/** A chunk whose items did not all succeed: results by index, and the errors by index. */
export interface ChunkOutcome {
  readonly results: unknown[];
  readonly errors: [index: number, error: SerializedThrow][];
}

export type ToWorker =
  | { readonly type: 'define'; readonly id: number; readonly fn: WireFunction }
  | { readonly type: 'run'; readonly tasks: WireTask[] }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'init-failed'; readonly error: SerializedThrow }
  /**
   * Sent as the worker exits (`process.exit` in a task, say), after the results it had finished:
   * `running` lists the tasks that had started and whose results were not sent (one at most, unless
   * tasks run at once). The other tasks it held never started. Sent only by a worker without a claim
   * word (claims.ts), which says the same and more.
   */
  | { readonly type: 'exiting'; readonly running: readonly number[] }
  /** `busyMs`: time spent running these tasks, so the pool can size how many it keeps in flight. */
  | { readonly type: 'done'; readonly results: WireResult[]; readonly busyMs: number };

/** What a pool worker is told when it starts. */
export interface PoolWorkerPayload {
  /** Its claim word (claims.ts), where shared memory reaches it. */
  readonly claims: SharedArrayBuffer | undefined;
  /** How many tasks may run at once (`concurrentTasksPerWorker`). */
  readonly concurrency: number;
  readonly initializer: WireFunction | null;
  readonly initargs: import('../transport/payload.js').Packed;
}
