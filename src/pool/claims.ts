/**
 * Which of the tasks sent to a worker have started: one word of shared memory per worker, the number
 * of its tasks claimed so far. The pool numbers the tasks it sends a worker 0, 1, 2… (`Claims.next`),
 * and the worker, which runs them in that order, claims each one just before running it by moving the
 * word from its number to the next (`ClaimCursor.claim`). So a task numbered below the word has
 * started, and one at or above it has not.
 *
 * Why: the pool sends tasks ahead (each worker holds a few beyond those it runs, dispatch.ts), and a
 * worker that dies, even killed by a signal with no chance to say anything, lost only the tasks it had
 * claimed; the others go back to the queue (`workers.ts`, `judgeExit`).
 *
 * The cost is one atomic operation per task in the worker, and nothing per task in the pool but the
 * number (W1b, 200,000 tiny tasks). Where shared memory cannot reach the worker (a 'process' pool
 * without the native addon), there is no word, and a dead worker's tasks are judged by its exit report
 * (`FromWorker` 'exiting'), which only a `process.exit` leaves time for.
 */
import { allocateShared } from '../runtime/shared-memory.js';
import type { StartMethod } from '../runtime/start-methods.js';

/** The pool's side of one worker's claim word. */
export class Claims {
  readonly #word: Int32Array;
  #numbered = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#word = new Int32Array(buffer, 0, 1);
  }

  /** The memory the worker claims in (its start payload carries it). */
  get buffer(): SharedArrayBuffer {
    return this.#word.buffer as SharedArrayBuffer;
  }

  /** The number of the next task sent to this worker. */
  next(): number {
    return this.#numbered++;
  }

  /** How many of this worker's tasks are claimed: those numbered below this have started. */
  claimed(): number {
    return Atomics.load(this.#word, 0);
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

  constructor(buffer: SharedArrayBuffer) {
    this.#word = new Int32Array(buffer, 0, 1);
  }

  /** Claims the next task received, just before it runs. */
  claim(): void {
    Atomics.add(this.#word, 0, 1);
  }
}
