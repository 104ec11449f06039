/**
 * `Semaphore` and `BoundedSemaphore` in shared memory. Words: [value, sleepers, bound (-1: none),
 * initial value], then the holder table.
 *
 * `acquire` takes one unit by compare-and-swap and otherwise sleeps on the value word (`sleepOn`)
 * while it is 0, so a `release` that lands between the attempt and the sleep makes the sleep return at
 * once: no lost wakeup. (Not while it holds what was read before the attempt: a unit taken and given
 * back in between leaves the same value, and the give-back's wake-up would be gone.) `release` only
 * calls notify when someone may be asleep.
 *
 * Units held by a process that dies come back. A semaphore has no owner, so the table counts, per
 * process (owner token, `runtime/liveness.ts`), the units it took out of the initial value and has not
 * given back: an acquire that leaves the value below its initial value counts one, a release by a
 * process with units counted gives one back. A semaphore used as a signal (released by one process,
 * acquired by another, from 0) counts nothing, so a consumer that dies returns no signal it consumed.
 * An acquirer that finds the value 0 returns the units of dead holders, never past the initial value,
 * and sleeps in slices while a holder it could see die holds units.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { Acquirable, acquireTimeout, checkAcquireTimeout, reportOwnerDied, revivingWords, sharedWords } from './guard.js';
import { deadlineAfter, notify, sleepOn, sleepOnAsync } from '../runtime/futex.js';
import { parseWait, type WaitArg } from './wait-options.js';
import { SLICE_MS, selfToken } from './mutex.js';
import { canWatch, isAlive } from '../runtime/liveness.js';

const VALUE = 0;
const SLEEPERS = 1;
const BOUND = 2;
const INITIAL = 3;
// The holder table: HOLDERS entries of [token (0: free, -1: being emptied), units held].
const TABLE = 4;
const HOLDERS = 16;
const EMPTYING = -1;
// The value at which an acquirer sleeps: the value goes back and forth, so a sleep on what was read
// could miss a take and give-back that both land before it (see `sleepOn`'s `idle`).
const EMPTY = 0;
const WORDS = TABLE + 2 * HOLDERS;

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
  /** @internal The shared words: [value, sleepers, bound, initial, holder table…]. */
  readonly words: Int32Array;
  /**
   * True when this handle's last successful acquire followed the return of units held by a process
   * that died (a line on stderr names it); false after any other acquire. What those units guarded
   * may be half-updated.
   */
  ownerDied = false;
  #recovered = false;

  /**
   * A semaphore starting at `value` units. Units that a process takes out of the initial value are
   * counted per process (for up to 16 processes at a time; units of more are not counted, and do not
   * come back if their holder dies), and come back when that process dies holding them.
   */
  constructor(value: number = 1) {
    super();
    const fresh = revivingWords.peek() === undefined;
    if (fresh) checkInitial(value);
    this.words = sharedWords(WORDS);
    if (fresh) {
      this.words[VALUE] = value;
      this.words[BOUND] = -1;
      this.words[INITIAL] = value;
    }
  }

  /**
   * Takes one unit, sleeping while there is none. With `blocking = false`, tries once (and still
   * returns the units of dead holders). `timeout` is in ms (`undefined`: forever, negative: 0).
   * Returns whether it got one.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    checkAcquireTimeout(blocking, timeout);
    const words = this.words;
    if (tryTake(words)) return this.#took();
    this.#recovered = false;
    if (this.#recoverDead() && tryTake(words)) return this.#took();
    const limit = acquireTimeout(blocking, timeout);
    return limit > 0 && sleepOn(words, VALUE, this.#takeOrRecover, deadlineAfter(limit), SLEEPERS, this.#slice, EMPTY);
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
    if (tryTake(words)) return this.#took();
    this.#recovered = false;
    if (this.#recoverDead() && tryTake(words)) return this.#took();
    return (
      limit > 0 &&
      sleepOnAsync(words, VALUE, this.#takeOrRecover, deadlineAfter(limit), signal, SLEEPERS, this.#slice, EMPTY)
    );
  }

  /** After taking a unit: counts it as this process's if it came out of the initial value. */
  #took(): true {
    const words = this.words;
    this.ownerDied = this.#recovered;
    this.#recovered = false;
    if (Atomics.load(words, VALUE) < words[INITIAL]) {
      const at = this.#entry(true);
      if (at >= 0) Atomics.add(words, at + 1, 1);
    }
    return true;
  }

  /** The index of this process's table entry, claiming one if `claim`; -1 if none (or the table is full). */
  #entry(claim: boolean): number {
    const words = this.words;
    for (let i = 0; i < HOLDERS; i++) {
      const at = TABLE + 2 * i;
      const token = Atomics.load(words, at);
      if (token === selfToken) return at;
      if (claim && token === 0 && Atomics.compareExchange(words, at, 0, selfToken) === 0) return at;
    }
    return -1;
  }

  /** Returns the units of holders that died; true if it returned any. */
  #recoverDead(): boolean {
    const words = this.words;
    let any = false;
    for (let i = 0; i < HOLDERS; i++) {
      const at = TABLE + 2 * i;
      const token = Atomics.load(words, at);
      if (token === 0 || token === EMPTYING || isAlive(token)) continue;
      if (Atomics.compareExchange(words, at, token, EMPTYING) !== token) continue;
      const units = Atomics.exchange(words, at + 1, 0);
      Atomics.store(words, at, 0);
      if (units > 0 && this.#giveBack(units) > 0) {
        any = true;
        this.#recovered = true;
        reportOwnerDied(`${units} unit${units === 1 ? '' : 's'} of a Semaphore`, token);
      }
    }
    return any;
  }

  /** Adds up to `units` to the value, never past the initial value; returns how many. */
  #giveBack(units: number): number {
    const words = this.words;
    for (;;) {
      const value = Atomics.load(words, VALUE);
      const room = Math.min(units, words[INITIAL] - value);
      if (room <= 0) return 0;
      if (Atomics.compareExchange(words, VALUE, value, value + room) === value) {
        if (Atomics.load(words, SLEEPERS) > 0) notify(words, VALUE, room);
        return room;
      }
    }
  }

  /** `sleepOn`'s `ready`: takes a unit, returning the units of dead holders first if there is none. */
  readonly #takeOrRecover = (): boolean => {
    const words = this.words;
    return (tryTake(words) || (this.#recoverDead() && tryTake(words))) && this.#took();
  };

  /** `sleepOn`'s `slice`: a slice while a holder whose death this thread could see holds units. */
  readonly #slice = (): number => {
    const words = this.words;
    for (let i = 0; i < HOLDERS; i++) {
      const token = Atomics.load(words, TABLE + 2 * i);
      if (token !== selfToken && token > 0 && Atomics.load(words, TABLE + 2 * i + 1) > 0 && canWatch(token)) return SLICE_MS;
    }
    return Infinity;
  };

  /**
   * Gives one unit back and wakes one sleeper. `BoundedSemaphore` throws past its initial value: an
   * `Error` with code `ERR_MP_SEMAPHORE_OVER_RELEASED` and Python's words (Python raises `ValueError`
   * there; a misused state is a plain `Error` here, as in Node).
   */
  release(): void {
    // Uncount first: a process that dies between the two steps loses a unit rather than letting one
    // more holder in than the semaphore allows.
    this.#uncount();
    this.#addOne();
  }

  /** Gives back one unit this process counted, if any. */
  #uncount(): void {
    const words = this.words;
    const at = this.#entry(false);
    if (at < 0) return;
    // Only this (live) process changes its own entry, so no other update can interleave.
    const units = words[at + 1];
    if (units <= 0) return;
    words[at + 1] = units - 1;
    if (units === 1) Atomics.store(words, at, 0);
  }

  #addOne(): void {
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
    const fresh = revivingWords.peek() === undefined;
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

registerShareable('Semaphore', (state) => revivingWords.fill(state as Int32Array, () => new Semaphore()), import.meta.url);
registerShareable('BoundedSemaphore', (state) => revivingWords.fill(state as Int32Array, () => new BoundedSemaphore()), import.meta.url);
