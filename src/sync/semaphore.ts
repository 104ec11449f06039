/**
 * `Semaphore` and `BoundedSemaphore` in shared memory. Words: [value, sleepers, bound (-1: none)].
 *
 * `acquire` takes one unit by compare-and-swap and otherwise sleeps on the value word (`sleepOn`)
 * while it still holds what it read before the attempt, so a `release` that lands between the attempt
 * and the sleep makes the sleep return at once: no lost wakeup. `release` only calls notify when
 * someone may be asleep.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { Acquirable, acquireTimeout, adopt, isAdopting, sharedWords } from './guard.js';
import { deadlineAfter, notify, parseWait, sleepOn, sleepOnAsync, type WaitArg } from './futex.js';

const VALUE = 0;
const SLEEPERS = 1;
const BOUND = 2;

function checkInitial(value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw misuse(TypeError, 'ERR_MP_SEMAPHORE_VALUE', `semaphore initial value must be an integer, not ${String(value)}`);
  }
  if (value < 0) throw misuse(RangeError, 'ERR_MP_SEMAPHORE_VALUE', 'semaphore initial value must be >= 0');
  if (value > 0x7fffffff) throw misuse(RangeError, 'ERR_MP_SEMAPHORE_VALUE', 'semaphore initial value must be < 2**31');
  return value;
}

/**
 * A counting semaphore shared between processes (Python's `multiprocessing.Semaphore`).
 *
 * @example
 * ```ts
 * const slots = new Semaphore(2);          // at most two holders at once
 * await slots.withLockAsync(async () => download());
 * ```
 */
export class Semaphore extends Acquirable implements Shareable {
  /** @internal The shared words: [value, sleepers, bound]. */
  readonly words: Int32Array;

  constructor(value: number = 1) {
    super();
    const fresh = !isAdopting();
    if (fresh) checkInitial(value);
    this.words = sharedWords(3);
    if (fresh) {
      this.words[VALUE] = value;
      this.words[BOUND] = -1;
    }
  }

  /**
   * Takes one unit, sleeping while there is none. With `blocking = false`, tries once. `timeout` is in
   * ms (`undefined`: forever, negative: 0). Returns whether it got one.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    const words = this.words;
    if (tryTake(words)) return true;
    const limit = acquireTimeout(blocking, timeout);
    return limit > 0 && sleepOn(words, VALUE, () => tryTake(words), deadlineAfter(limit), SLEEPERS);
  }

  /**
   * Takes one unit without blocking the event loop; resolves to whether it got one in time. Takes a
   * timeout in ms or `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason` and
   * takes nothing.
   *
   * @example
   * ```ts
   * if (await slots.acquireAsync({ timeout: 5000, signal })) try { await download(); } finally { slots.release(); }
   * ```
   */
  async acquireAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: limit, signal } = parseWait(timeout);
    const words = this.words;
    if (tryTake(words)) return true;
    return limit > 0 && sleepOnAsync(words, VALUE, () => tryTake(words), deadlineAfter(limit), signal, SLEEPERS);
  }

  /** Gives one unit back and wakes one sleeper. `BoundedSemaphore` throws past its initial value. */
  release(): void {
    const words = this.words;
    const bound = words[BOUND];
    for (;;) {
      const value = Atomics.load(words, VALUE);
      if (bound >= 0 && value >= bound) {
        throw misuse(
          Error,
          'ERR_MP_SEMAPHORE_OVER_RELEASED',
          'semaphore or lock released too many times (a BoundedSemaphore cannot go above its initial value)',
        );
      }
      if (value === 0x7fffffff) throw misuse(RangeError, 'ERR_MP_SEMAPHORE_OVERFLOW', 'semaphore value would overflow 2**31 - 1');
      if (Atomics.compareExchange(words, VALUE, value, value + 1) === value) break;
    }
    if (Atomics.load(words, SLEEPERS) > 0) notify(words, VALUE, 1);
  }

  /** The current value (Python's `get_value()`). */
  getValue(): number {
    return Atomics.load(this.words, VALUE);
  }

  /** Whether an `acquire()` would block now (the value is 0). */
  locked(): boolean {
    return Atomics.load(this.words, VALUE) === 0;
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'Semaphore', state: this.words };
  }
}

/**
 * A semaphore whose `release()` throws when it would go above its initial value (Python's
 * `multiprocessing.BoundedSemaphore`), which catches a release without a matching acquire.
 *
 * @example
 * ```ts
 * const pool = new BoundedSemaphore(3);
 * pool.acquire(); pool.release(); pool.release(); // throws: released too many times
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  constructor(value: number = 1) {
    const fresh = !isAdopting();
    super(value);
    if (fresh) this.words[BOUND] = value;
  }

  /** @internal */
  override [reduce](): Reduced {
    return { kind: 'BoundedSemaphore', state: this.words };
  }
}

function tryTake(words: Int32Array): boolean {
  for (;;) {
    const value = Atomics.load(words, VALUE);
    if (value === 0) return false;
    if (Atomics.compareExchange(words, VALUE, value, value - 1) === value) return true;
  }
}

registerShareable('Semaphore', (state) => adopt(state as Int32Array, () => new Semaphore()), import.meta.url);
registerShareable('BoundedSemaphore', (state) => adopt(state as Int32Array, () => new BoundedSemaphore()), import.meta.url);
