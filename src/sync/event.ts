/**
 * `Event`: a shared flag that threads can wait for. One word: the flag (0 clear, 1 set). `wait` sleeps
 * while the word reads 0, so a `set()` before the sleep makes it return at once.
 */
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { revivingWords, sharedWords } from './guard.js';
import { deadlineAfter, notify, sleepOn, sleepOnAsync } from '../runtime/futex.js';
import { parseWait, toWaitTimeout, type WaitArg } from './wait-options.js';

const FLAG = 0;

/**
 * An event shared between processes (Python's `multiprocessing.Event`).
 *
 * @example
 * ```ts
 * const ready = new Event();
 * new Process({ target: worker, args: [ready] }).start();   // the worker calls ready.set()
 * await ready.waitAsync(5000);                               // or ready.wait(5000) to block
 * ```
 */
export class Event implements Shareable {
  /** @internal The shared words: [flag]. */
  readonly words: Int32Array;

  constructor() {
    this.words = sharedWords(1);
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.words, FLAG) === 1;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    if (Atomics.exchange(this.words, FLAG, 1) === 0) notify(this.words, FLAG);
  }

  /** Clears the flag; later waits block until the next `set()`. */
  clear(): void {
    Atomics.store(this.words, FLAG, 0);
  }

  /** Blocks until the flag is set or `timeout` ms pass; returns the flag. */
  wait(timeout?: number): boolean {
    const words = this.words;
    return sleepOn(words, FLAG, () => Atomics.load(words, FLAG) !== 0, deadlineAfter(toWaitTimeout(timeout)));
  }

  /**
   * `wait` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`; an abort
   * of `signal` rejects with `signal.reason`.
   *
   * @example
   * ```ts
   * const set = await ready.waitAsync({ timeout: 5000, signal: controller.signal });
   * ```
   */
  async waitAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: limit, signal } = parseWait(timeout);
    const words = this.words;
    return sleepOnAsync(words, FLAG, () => Atomics.load(words, FLAG) !== 0, deadlineAfter(limit), signal);
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'Event', state: this.words };
  }
}

registerShareable('Event', (state) => revivingWords.fill(state as Int32Array, () => new Event()), import.meta.url);
