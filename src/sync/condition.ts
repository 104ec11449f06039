/**
 * `Condition`: a condition variable in shared memory, over a `Lock` or `RLock` (default: a new `RLock`).
 *
 * Sequence-counter design (as Rust's std): one word counts notifications. `wait` reads it while
 * holding the lock, releases the lock, and sleeps only while the word still holds the value it read;
 * a `notify` that lands in between changed the word, so the sleep returns at once. Waiting on a
 * constant value instead loses exactly those wakeups. Wakeups may be spurious (more than `n` threads
 * can wake), as Python allows: use `waitFor` or re-check the predicate.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, revive, type Reduced, type Shareable } from '../transport/shareable.js';
import { Acquirable, adopt, sharedWords, type ConditionLock } from './guard.js';
import { deadlineAfter, notify as futexNotify, remaining, toWaitTimeout, wait, waitAsync } from './futex.js';
import { Lock } from './lock.js';
import { RLock } from './rlock.js';

const SEQ = 0;

interface ConditionState {
  readonly words: Int32Array;
  readonly lock: Reduced;
}

let revivingLock: Lock | RLock | undefined;

/**
 * A condition variable shared between processes (Python's `multiprocessing.Condition`).
 *
 * @example
 * ```ts
 * const cond = new Condition();
 * // consumer:
 * cond.withLock(() => cond.waitFor(() => items.length > 0, 1000));
 * // producer:
 * cond.withLock(() => { items.push(x); cond.notify(); });
 * ```
 */
export class Condition extends Acquirable implements Shareable {
  /** @internal The shared words: [notification sequence]. */
  readonly words: Int32Array;
  readonly #lock: Lock | RLock;

  constructor(lock?: Lock | RLock) {
    super();
    const given = revivingLock ?? lock;
    revivingLock = undefined;
    if (given !== undefined && !(given instanceof Lock) && !(given instanceof RLock)) {
      throw misuse(TypeError, 'ERR_MP_CONDITION_LOCK', 'Condition(lock) takes a Lock or an RLock from this library');
    }
    this.words = sharedWords(1);
    this.#lock = given ?? new RLock();
  }

  /** The lock this condition uses (Python's `_lock`). */
  get lock(): Lock | RLock {
    return this.#lock;
  }

  /** Acquires the underlying lock. */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    return this.#lock.acquire(blocking, timeout);
  }

  /** Acquires the underlying lock without blocking the event loop. */
  acquireAsync(timeout?: number): Promise<boolean> {
    return this.#lock.acquireAsync(timeout);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /** Whether the underlying lock is held by some thread. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /**
   * Releases the lock (every level of an `RLock`), sleeps until notified or `timeout` ms pass, and
   * takes the lock back. Returns false if it timed out. Throws unless this thread holds the lock.
   */
  wait(timeout?: number): boolean {
    const lock = this.#checkOwned('wait');
    const limit = toWaitTimeout(timeout);
    const seq = Atomics.load(this.words, SEQ);
    const depth = lock.releaseAll();
    let result;
    try {
      result = wait(this.words, SEQ, seq, limit);
    } finally {
      lock.restore(depth);
    }
    return result !== 'timed-out';
  }

  /** `wait` without blocking the event loop. */
  async waitAsync(timeout?: number): Promise<boolean> {
    const lock = this.#checkOwned('wait');
    const limit = toWaitTimeout(timeout);
    const seq = Atomics.load(this.words, SEQ);
    const depth = lock.releaseAll();
    let result;
    try {
      result = await waitAsync(this.words, SEQ, seq, limit);
    } finally {
      await lock.restoreAsync(depth);
    }
    return result !== 'timed-out';
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after each wakeup, for at most `timeout` ms in
   * all. Returns the predicate's last value. The lock must be held.
   */
  waitFor<T>(predicate: () => T, timeout?: number): T {
    this.#checkOwned('wait');
    let result = predicate();
    const deadline = deadlineAfter(toWaitTimeout(timeout));
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      this.wait(left);
      result = predicate();
    }
    return result;
  }

  /** `waitFor` without blocking the event loop; the predicate may be async. */
  async waitForAsync<T>(predicate: () => T | Promise<T>, timeout?: number): Promise<Awaited<T>> {
    this.#checkOwned('wait');
    let result = await predicate();
    const deadline = deadlineAfter(toWaitTimeout(timeout));
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      await this.waitAsync(left);
      result = await predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiting threads. The lock must be held. */
  notify(n: number = 1): void {
    this.#checkOwned('notify');
    if (!(n >= 0)) throw misuse(RangeError, 'ERR_MP_CONDITION_NOTIFY', `notify(n) needs n >= 0, not ${String(n)}`);
    Atomics.add(this.words, SEQ, 1);
    if (n > 0) futexNotify(this.words, SEQ, n);
  }

  /** Wakes every waiting thread. The lock must be held. */
  notifyAll(): void {
    this.notify(Infinity);
  }

  #checkOwned(what: 'wait' | 'notify'): ConditionLock {
    const lock = this.#lock;
    if (!lock.isMine()) {
      throw misuse(
        Error,
        'ERR_MP_CONDITION_NOT_ACQUIRED',
        what === 'wait'
          ? 'must acquire() condition before using wait()'
          : 'lock is not owned (acquire() the condition before using notify())',
      );
    }
    return lock;
  }

  /** @internal */
  [reduce](): Reduced {
    const state: ConditionState = { words: this.words, lock: this.#lock[reduce]() };
    return { kind: 'Condition', state };
  }
}

registerShareable('Condition', (raw) => {
  const state = raw as ConditionState;
  revivingLock = revive(state.lock) as Lock | RLock;
  return adopt(state.words, () => new Condition());
}, import.meta.url);
