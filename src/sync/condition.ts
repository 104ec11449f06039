/**
 * `Condition`: a condition variable in shared memory, over a `Lock` or `RLock` (default: a new `RLock`).
 *
 * Exact wakeups with one slot per waiter. A waiter takes a free slot while it still holds the lock
 * (so it counts as waiting before it lets go, as in Python, where it counts itself in
 * `sleeping_count` first), marks it WAITING with a ticket (the order of arrival), releases the lock
 * and sleeps on its own slot word while it reads WAITING. `notify(n)` (lock held) turns the `n` oldest
 * WAITING slots into GRANTED and wakes each one's sleeper. A waiter that stops waiting by itself
 * (timeout, abort) turns its slot from WAITING to FREE; both sides change the slot by
 * compare-and-swap, so exactly one of them wins:
 * - `notify(n)` wakes at most `n` waiters, all of them registered before it (a later waiter has no
 *   slot yet when it scans), and `wait()` returns true only for a waiter whose slot was granted. The
 *   old design (one sequence word, sleep while it holds the value read) also woke a waiter that had
 *   released the lock but was not asleep yet, on top of the one notified.
 * - A timeout or an abort racing a notify neither loses nor duplicates the wakeup: if the notify
 *   won, the timed-out waiter returns true; the aborted one, which must reject, takes the lock back
 *   and hands the grant on to the oldest waiter registered before that notify (the slot records the
 *   ticket counter at the grant).
 * - `notify` never blocks (unlike Python's, which waits until the woken have acknowledged): an async
 *   waiter may live in the notifying thread, so waiting for it would deadlock.
 * - No thundering herd and no wasted wakeups: each sleeper sleeps on a word of its own.
 *
 * The slots are a fixed table of `MAX_WAITERS` after the control words, in the Condition's one buffer
 * (2 KiB; creating a Condition costs about twice what the sequence-word one did). Not more, nor a
 * growable buffer: with a growable one (1 MiB reserved) `new Condition()` took 35 µs against 1.6, and
 * each is a memory mapping of its own (tens of thousands exhausted the process's mappings and Node
 * crashed); an 8 KiB table still took 20 µs and 8 KiB of memory per Condition.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, revive, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { Acquirable, sharedWords, type ConditionLock } from './guard.js';
import { deadlineAfter, notify as futexNotify, remaining, sleepOn, sleepOnAsync } from '../runtime/futex.js';
import { parseWait, toWaitTimeout, type WaitArg } from './wait-options.js';
import { Lock } from './lock.js';
import { RLock } from './rlock.js';

// Control words (changed under the lock, except WAITING, which a leaving waiter decrements).
const TICKET = 0; // the next waiter's ticket (wraps; compared by signed difference)
const WAITING = 1; // slots in state WAITING (never less: an upper bound while one changes state)
const HIGH = 2; // every slot in use is below this index

// The slots follow the control words.
const SLOTS_AT = 4;
// A slot: two words.
const SLOT_WORDS = 2;
const STATE = 0; // FREE, WAITING or GRANTED: the waiter sleeps on this word
// While WAITING: the waiter's ticket. Once GRANTED: the ticket counter at the grant, i.e. who had
// registered before that notify (an aborted waiter hands its grant on to one of them).
const TICKET_OR_BOUND = 1;
const FREE = 0;
const WAITING_STATE = 1;
const GRANTED = 2;

/** The most waiters one Condition can hold at once. */
const MAX_WAITERS = 254;

interface ConditionState {
  readonly words: Int32Array;
  readonly lock: Reduced;
}

const reviving = new ReviveSlot<{ readonly words: Int32Array; readonly lock: Lock | RLock }>();

/** True if ticket `a` was handed out before ticket `b`. */
const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/**
 * A condition variable shared between processes (Python's `multiprocessing.Condition`).
 * `notify(n)` wakes at most `n` of the threads (or async tasks) waiting at that moment.
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
  /** @internal The shared control words: [next ticket, waiting, high-water slot]. */
  readonly words: Int32Array;
  readonly #lock: Lock | RLock;
  readonly #slots: Int32Array;

  constructor(lock?: Lock | RLock) {
    super();
    const revived = reviving.take();
    const given = revived?.lock ?? lock;
    if (given !== undefined && !(given instanceof Lock) && !(given instanceof RLock)) {
      throw misuse(TypeError, 'ERR_MP_CONDITION_LOCK', 'Condition(lock) takes a Lock or an RLock from this library');
    }
    this.words = revived?.words ?? sharedWords(SLOTS_AT + MAX_WAITERS * SLOT_WORDS);
    this.#lock = given ?? new RLock();
    this.#slots = this.words.subarray(SLOTS_AT);
  }

  /** The lock this condition uses (Python's `_lock`). */
  get lock(): Lock | RLock {
    return this.#lock;
  }

  /** Acquires the underlying lock. */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    return this.#lock.acquire(blocking, timeout);
  }

  /**
   * Acquires the underlying lock without blocking the event loop. Takes a timeout in ms or
   * `{ timeout?, signal? }`, as `Lock.acquireAsync` does.
   */
  acquireAsync(timeout?: WaitArg): Promise<boolean> {
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
   * takes the lock back. Returns true if a `notify` woke it, false if it timed out. Throws unless this
   * thread holds the lock.
   */
  wait(timeout?: number): boolean {
    const lock = this.#checkOwned('wait');
    const deadline = deadlineAfter(toWaitTimeout(timeout));
    const at = this.#register();
    const slots = this.#slots;
    const depth = lock.releaseAll();
    let grant: number | undefined;
    try {
      sleepOn(slots, at + STATE, () => Atomics.load(slots, at + STATE) !== WAITING_STATE, deadline);
    } finally {
      grant = this.#leave(slots, at);
      lock.restore(depth);
    }
    return grant !== undefined;
  }

  /**
   * `wait` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`. An abort
   * of `signal` rejects with `signal.reason` once the lock is taken back (the caller's `finally` may
   * release it, as after any wait); a `notify` that had picked this waiter passes to another.
   *
   * @example
   * ```ts
   * await cond.acquireAsync();
   * try { await cond.waitAsync({ timeout: 1000, signal }); } finally { cond.release(); }
   * ```
   */
  async waitAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: limit, signal } = parseWait(timeout);
    const lock = this.#checkOwned('wait');
    const deadline = deadlineAfter(limit);
    const at = this.#register();
    const slots = this.#slots;
    const depth = lock.releaseAll();
    let aborted = false;
    let reason: unknown;
    try {
      await sleepOnAsync(slots, at + STATE, () => Atomics.load(slots, at + STATE) !== WAITING_STATE, deadline, signal);
    } catch (error) {
      aborted = true;
      reason = error;
    }
    const grant = this.#leave(slots, at);
    await lock.restoreAsync(depth);
    if (!aborted) return grant !== undefined;
    if (grant !== undefined) this.#grant(1, grant);
    throw reason;
  }

  /**
   * Waits until `predicate()` is truthy, re-checking after each wakeup, for at most `timeout` ms in
   * all. Returns the predicate's last value. The lock must be held.
   */
  waitFor<T>(predicate: () => T, timeout?: number): T {
    this.#checkOwned('wait');
    // Checked before the predicate, which may make the wait needless: a bad timeout is refused anyway.
    const deadline = deadlineAfter(toWaitTimeout(timeout));
    let result = predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      this.wait(left);
      result = predicate();
    }
    return result;
  }

  /**
   * `waitFor` without blocking the event loop; the predicate may be async. Takes a timeout in ms or
   * `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason` (the lock held again).
   *
   * @example
   * ```ts
   * await cond.withLockAsync(() => cond.waitForAsync(() => ready.value === 1, { signal }));
   * ```
   */
  async waitForAsync<T>(predicate: () => T | Promise<T>, timeout?: WaitArg): Promise<Awaited<T>> {
    const { timeout: limit, signal } = parseWait(timeout);
    this.#checkOwned('wait');
    let result = await predicate();
    const deadline = deadlineAfter(limit);
    while (!result) {
      const left = remaining(deadline);
      if (left <= 0) break;
      await this.waitAsync({ timeout: left, signal });
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` of the threads (or async tasks) waiting now, the longest-waiting first, and returns
   * how many it woke (Python returns `None`): each of them returns true from its `wait`. Never blocks.
   * The lock must be held.
   */
  notify(n: number = 1): number {
    this.#checkOwned('notify');
    if (!(n >= 0)) throw misuse(RangeError, 'ERR_MP_CONDITION_NOTIFY', `notify(n) needs n >= 0, not ${String(n)}`);
    return n > 0 && Atomics.load(this.words, WAITING) > 0 ? this.#grant(n, this.words[TICKET]) : 0;
  }

  /** Wakes every waiting thread and returns how many it woke. The lock must be held. */
  notifyAll(): number {
    return this.notify(Infinity);
  }

  // Lock held: takes a free slot (the lowest) and marks it WAITING with the next ticket. Returns the
  // index of its first word in `#slots`.
  #register(): number {
    const words = this.words;
    const slots = this.#slots;
    let high = words[HIGH];
    while (high > 0 && Atomics.load(slots, (high - 1) * SLOT_WORDS + STATE) === FREE) high--;
    let slot = 0;
    while (slot < high && Atomics.load(slots, slot * SLOT_WORDS + STATE) !== FREE) slot++;
    if (slot === high) {
      if (high === MAX_WAITERS) {
        throw misuse(
          RangeError,
          'ERR_MP_CONDITION_WAITERS',
          `a Condition holds at most ${MAX_WAITERS} waiters at once (wait in fewer threads or tasks, or use a Semaphore)`,
        );
      }
      high++;
    }
    words[HIGH] = high;
    const at = slot * SLOT_WORDS;
    const ticket = words[TICKET];
    words[TICKET] = (ticket + 1) | 0;
    slots[at + TICKET_OR_BOUND] = ticket;
    // Counted before it shows as WAITING, so the count never reads below the WAITING slots: `#grant`'s
    // one-pass shortcut relies on that.
    Atomics.add(words, WAITING, 1);
    Atomics.store(slots, at + STATE, WAITING_STATE);
    return at;
  }

  // The waiter stops waiting and frees its slot. If a notify had granted it first, returns that
  // grant's bound (see TICKET_OR_BOUND); else undefined.
  #leave(slots: Int32Array, at: number): number | undefined {
    if (Atomics.compareExchange(slots, at + STATE, WAITING_STATE, FREE) === WAITING_STATE) {
      Atomics.sub(this.words, WAITING, 1);
      return undefined;
    }
    const bound = slots[at + TICKET_OR_BOUND];
    Atomics.store(slots, at + STATE, FREE);
    return bound;
  }

  // Lock held (by a notify, or by an aborted waiter handing its grant on): grants up to `n` WAITING
  // slots whose ticket came before `bound`, oldest first. A waiter leaving meanwhile (its timeout) makes
  // the compare-and-swap fail, and the next oldest is tried.
  #grant(n: number, bound: number): number {
    const words = this.words;
    const slots = this.#slots;
    const high = words[HIGH];
    let woken = 0;
    if (n >= Atomics.load(words, WAITING)) {
      // No more waiting than it may wake: one pass, in any order.
      for (let at = 0; at < high * SLOT_WORDS; at += SLOT_WORDS) {
        if (Atomics.load(slots, at + STATE) === WAITING_STATE && before(slots[at + TICKET_OR_BOUND], bound)) {
          if (this.#wake(slots, at, bound)) woken++;
        }
      }
      return woken;
    }
    while (woken < n) {
      let oldest = -1;
      for (let at = 0; at < high * SLOT_WORDS; at += SLOT_WORDS) {
        if (Atomics.load(slots, at + STATE) !== WAITING_STATE) continue;
        const ticket = slots[at + TICKET_OR_BOUND];
        if (before(ticket, bound) && (oldest < 0 || before(ticket, slots[oldest + TICKET_OR_BOUND]))) oldest = at;
      }
      if (oldest < 0) break;
      if (this.#wake(slots, oldest, bound)) woken++;
    }
    return woken;
  }

  #wake(slots: Int32Array, at: number, bound: number): boolean {
    // The waiter's ticket is no longer needed once it is granted; the only other writer of this word
    // is a registration, under the lock held here. Published by the compare-and-swap below.
    slots[at + TICKET_OR_BOUND] = bound;
    if (Atomics.compareExchange(slots, at + STATE, WAITING_STATE, GRANTED) !== WAITING_STATE) return false;
    Atomics.sub(this.words, WAITING, 1);
    futexNotify(slots, at + STATE, 1);
    return true;
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
  return reviving.fill({ words: state.words, lock: revive(state.lock) as Lock | RLock }, () => new Condition());
}, import.meta.url);
