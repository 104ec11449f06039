/**
 * Which of the tasks sent to a worker have started: one word of shared memory per worker, the number
 * of its tasks claimed so far. The pool numbers the tasks it sends a worker 0, 1, 2… (`Claims.next`),
 * and the worker, which runs them in that order, claims each one just before running it by moving the
 * word from its number to the next (`ClaimCursor.claim`, a compare-and-swap). So a task numbered below
 * the word has been claimed, and one at or above it has not started and never will unless claimed.
 *
 * Why: the pool sends tasks ahead (each worker holds a few beyond those it runs, dispatch.ts), and
 * two things need to know which of them started, at any moment and whatever happened to the worker:
 * - a worker that dies, even killed by a signal with no chance to say anything, lost only the tasks it
 *   had claimed; the others go back to the queue (`workers.ts`, `judgeExit`);
 * - a task waiting behind a long one can be taken back for a worker gone idle (work stealing,
 *   `Dispatcher.steal`): the pool claims it in the worker's place, with the same compare-and-swap,
 *   so exactly one side gets it. The worker, finding the word past its task's number, skips the tasks
 *   taken back up to there.
 * The pool only ever takes back the next tasks the worker would claim (those right at the word), so
 * the claimed numbers stay a prefix and one word says everything.
 *
 * The word is 32 bits and wraps after 2³² tasks (a few hours of tiny tasks on one worker): each side
 * counts in plain numbers and reads the word as a distance from its own count, which is never 2³¹ away
 * (at most the tasks in flight).
 *
 * The cost is one compare-and-swap per task in the worker, and nothing per task in the pool but the
 * number (W1b, 200,000 tiny tasks). Where shared memory cannot reach the worker (a 'process' pool
 * without the native addon), there is no word: nothing is taken back, and a dead worker's tasks are
 * judged by its exit report (`FromWorker` 'exiting'), which only a `process.exit` leaves time for.
 */
import { allocateShared } from '../runtime/shared-memory.js';
import type { StartMethod } from '../runtime/start-methods.js';

/** The pool's side of one worker's claim word. */
export class Claims {
  readonly #word: Int32Array;
  #numbered: number;

  /** `first`: the number of the first task, for tests of the wrap (the word must hold it, as 32 bits). */
  constructor(buffer: SharedArrayBuffer, first = 0) {
    this.#word = new Int32Array(buffer, 0, 1);
    this.#numbered = first;
  }

  /** The memory the worker claims in (its start payload carries it). */
  get buffer(): SharedArrayBuffer {
    return this.#word.buffer as SharedArrayBuffer;
  }

  /** How many tasks this worker has been sent (numbers handed out). */
  get numbered(): number {
    return this.#numbered;
  }

  /** The number of the next task sent to this worker. */
  next(): number {
    return this.#numbered++;
  }

  /** How many of this worker's tasks are claimed: those numbered below this have started (or were taken back). */
  claimed(): number {
    return this.#numbered - ((this.#numbered - Atomics.load(this.#word, 0)) | 0);
  }

  /**
   * Takes back the `count` tasks numbered from `from` on, which must be the next ones to claim (`from`
   * as `claimed()` said): true if they were still unclaimed, and the worker will now skip them; false if
   * the worker claimed one meanwhile (nothing was taken back).
   */
  takeBack(from: number, count: number): boolean {
    return Atomics.compareExchange(this.#word, 0, from, from + count) === (from | 0);
  }
}

/** A claim word for a new worker of `startMethod`, or undefined where its workers cannot map shared memory. */
export function claimsFor(startMethod: StartMethod): Claims | undefined {
  try {
    return new Claims(allocateShared(4, { startMethod, purpose: 'a pool worker' }));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MP_NATIVE_UNAVAILABLE') return undefined;
    throw error;
  }
}

/** The worker's side: claims its tasks in the order it received them (see the module header). */
export class ClaimCursor {
  readonly #word: Int32Array;
  #next: number;
  /** Tasks numbered below this were taken back by the pool. */
  #takenBelow: number;

  /** `first`: as the pool's `Claims`. */
  constructor(buffer: SharedArrayBuffer, first = 0) {
    this.#word = new Int32Array(buffer, 0, 1);
    this.#next = first;
    this.#takenBelow = first;
  }

  /** Claims the next task received: true to run it, false when the pool took it back (skip it). */
  claim(): boolean {
    const number = this.#next++;
    if (number < this.#takenBelow) return false;
    const seen = Atomics.compareExchange(this.#word, 0, number, number + 1);
    // The swap compares 32 bits: so does this, and the word's distance ahead gives the full number.
    const ahead = (seen - number) | 0;
    if (ahead === 0) return true;
    this.#takenBelow = number + ahead;
    return false;
  }
}
