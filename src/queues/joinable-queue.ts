/**
 * `JoinableQueue`: a `Queue` that counts unfinished tasks (Python's `multiprocessing.JoinableQueue`).
 */
import { misuse } from '../errors.js';
import { parseWait, toWaitTimeout, type WaitArg } from '../sync/wait-options.js';
import { reduce, registerShareable, type Reduced } from '../transport/shareable.js';
import { Queue, revivingRing } from './queue.js';
import { Ring, type RingState } from './ring.js';

/**
 * A `Queue` whose consumers call `taskDone()` for every item they finish, so that `join()` can wait
 * until all the work put on it is done.
 *
 * @example
 * ```ts
 * const q = new JoinableQueue<string>();
 * q.put('job');
 * // in a worker: const job = q.get(); work(job); q.taskDone();
 * await q.joinAsync(); // every item put has been taskDone()
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  constructor(maxsize = 0) {
    super(maxsize);
    this.ring.markJoinable();
  }

  /**
   * Marks one item taken with `get()` as finished. Called more times than items were put, it throws
   * (Python: `ValueError: task_done() called too many times`).
   */
  taskDone(): void {
    if (!this.ring.taskDone()) {
      throw misuse(Error, 'ERR_MP_TASK_DONE_TOO_MANY', 'task_done() called too many times');
    }
  }

  /**
   * Blocks until every item ever put has been marked with `taskDone()` (or dropped by
   * `shutdown(true)`). With a `timeout` (ms), returns false if that did not happen in time.
   */
  join(timeout?: number): boolean {
    return this.ring.joinTasks(toWaitTimeout(timeout));
  }

  /**
   * `join` that waits without blocking the event loop. Takes a timeout in ms or
   * `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason`.
   *
   * @example
   * ```ts
   * const done = await q.joinAsync({ timeout: 10_000, signal: controller.signal });
   * ```
   */
  async joinAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: limit, signal } = parseWait(timeout);
    return this.ring.joinTasksAsync(limit, signal);
  }

  /** @internal */
  override [reduce](): Reduced {
    return { kind: 'JoinableQueue', state: { ring: this.ring.state } };
  }
}

registerShareable('JoinableQueue', (state) =>
  revivingRing.fill(new Ring((state as { ring: RingState }).ring), () => new JoinableQueue()), import.meta.url, { carrier: true });
