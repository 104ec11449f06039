/**
 * `Barrier`: `parties` threads wait until all of them have arrived, then all go on together.
 *
 * Shared words: an internal mutex, the number arrived, a generation word the waiters sleep on, a
 * broken flag and why it broke, `parties`, and a small ring of per-generation outcomes (passed, or the
 * reason it broke), so a waiter that wakes late still learns how *its* generation ended even if the
 * barrier was reset or aborted since. Breaking (abort, reset with waiters, a timeout or an aborted
 * `waitAsync`, a failing action) ends the generation as broken: every waiter of it throws
 * `BrokenBarrierError`, whose message gives the reason the breaking party left in the shared words
 * (the others cannot see that party's own error).
 *
 * The action runs in the last thread to arrive, before the others are released, as in Python. Where
 * the barrier crossed into a worker, the action crossed with it by the library's function transport.
 * A self-contained action is ready at once. One that needs its module crosses by reference and must be
 * imported, which is asynchronous: the reviver hands that load to the unpacking (`later`), and an
 * async unpack (task and `Process` arguments, an async queue `get`) waits for it, so the task body's
 * blocking `wait()` finds the action loaded, as Python's `Barrier(n, action=f)` does. A barrier revived
 * synchronously (a blocking queue `get`, a pipe's `recv`), or made here from a `{ module, name }`
 * reference whose module this thread has not imported, may still be loading it: `waitAsync()` waits
 * for it, a blocking `wait()` that arrives last before it has loaded breaks the barrier, saying so.
 */
import { BrokenBarrierError, misuse } from '../errors.js';
import { registerShareable, reduce, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import type { FunctionReference, WireFunction } from '../transport/wire-function.js';
import { toWireFunction } from '../transport/pack.js';
import { resolveWireFunction } from '../transport/unpack.js';
import { resolveWireFunctionSync } from '../transport/function-resolve.js';
import { sharedWords } from './guard.js';
import { deadlineAfter, notify, sleepOn, sleepOnAsync } from '../runtime/futex.js';
import { parseWait, toWaitTimeout, type WaitArg } from './wait-options.js';
import { lockWord, lockWordAsync, unlockWord } from './mutex.js';

const MUTEX = 0;
const COUNT = 1;
const GEN = 2;
const BROKEN = 3;
const PARTIES = 4;
const HAS_ACTION = 5;
const REASON = 6; // why the barrier is broken, while BROKEN is 1
const OUTCOMES = 8;
const RING = 16;
const PASSED = 1;
// Why a generation broke: its outcome in the ring, and REASON while the barrier stays broken.
const ABORTED = 2;
const RESET = 3;
const TIMED_OUT = 4;
const ACTION_THREW = 5;
const ACTION_LOADING = 6;
const ACTION_UNLOADABLE = 7;
const WHY: Readonly<Record<number, string>> = {
  [ABORTED]: 'abort() was called',
  [RESET]: 'reset() was called while parties waited',
  [TIMED_OUT]: "a party's wait timed out, or its waitAsync() was aborted",
  [ACTION_THREW]: 'its action threw in the party that arrived last (that party got the error)',
  [ACTION_LOADING]:
    'its action was still loading in the party that arrived last, which waited with the blocking wait(); ' +
    'a barrier read from a queue with a blocking get() (or from a pipe) has its action loaded only later: use await barrier.waitAsync() there',
  [ACTION_UNLOADABLE]: 'its action could not be loaded in the party that arrived last (that party got the error)',
};

/** Options of `new Barrier(parties, options)`. */
export interface BarrierOptions {
  /** Called by one of the threads (the last to arrive) when all have arrived, before any is released. */
  action?: (() => unknown) | FunctionReference;
  /** Default timeout (ms) of `wait()` when it is given none. */
  timeout?: number;
}

interface BarrierState {
  readonly words: Int32Array;
  readonly timeout: number | undefined;
  readonly action: WireFunction | null;
}

const reviving = new ReviveSlot<{ readonly state: BarrierState; readonly later: (work: Promise<void>) => void }>();

/**
 * A barrier shared between processes (Python's `multiprocessing.Barrier`). The `action` runs in the
 * last thread to arrive; a barrier that reaches a worker as a task or `Process` argument has its action
 * loaded before the task runs. One read from a queue with a blocking `get()` may still be loading an
 * action that needs its module: use `waitAsync()` there (see the module notes).
 *
 * @example
 * ```ts
 * const barrier = new Barrier(3, { timeout: 5000 });
 * // in each of three workers:
 * const index = barrier.wait();   // 0, 1 or 2: the order of arrival
 * ```
 */
export class Barrier implements Shareable {
  /** @internal */
  readonly words: Int32Array;
  readonly #timeout: number | undefined;
  #action: (() => unknown) | undefined;
  #actionWire: WireFunction | null | undefined;
  #actionLoading: Promise<void> | undefined;
  #actionError: unknown;

  constructor(parties: number, options: BarrierOptions = {}) {
    const revived = reviving.take();
    if (revived !== undefined) {
      const { state } = revived;
      this.words = state.words;
      this.#timeout = state.timeout;
      this.#actionWire = state.action;
      if (state.action !== null) this.#load(state.action);
      if (this.#actionLoading !== undefined) revived.later(this.#actionLoading);
      return;
    }
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw misuse(RangeError, 'ERR_MP_BARRIER_PARTIES', `parties must be an integer > 0, not ${String(parties)}`);
    }
    const { action, timeout } = options;
    if (timeout !== undefined) toWaitTimeout(timeout);
    if (action !== undefined && typeof action !== 'function' && (typeof action !== 'object' || action === null)) {
      throw misuse(TypeError, 'ERR_MP_BARRIER_ACTION', 'Barrier action must be a function');
    }
    this.words = sharedWords(OUTCOMES + RING);
    this.words[PARTIES] = parties;
    this.words[HAS_ACTION] = action === undefined ? 0 : 1;
    this.#timeout = timeout;
    if (typeof action === 'function') {
      this.#action = action;
    } else if (action !== undefined) {
      this.#actionWire = toWireFunction(action, 'Barrier action');
      this.#load(this.#actionWire);
    }
  }

  #load(wire: WireFunction): void {
    const ready = resolveWireFunctionSync(wire);
    if (ready !== undefined) {
      this.#action = ready as () => unknown;
      return;
    }
    this.#actionLoading = resolveWireFunction(wire).then(
      (fn) => {
        this.#action = fn as () => unknown;
      },
      (error: unknown) => {
        this.#actionError = error;
      },
    );
  }

  /** How many threads must call `wait()` for the barrier to open. */
  get parties(): number {
    return this.words[PARTIES];
  }

  /** How many threads wait now. */
  get nWaiting(): number {
    return Atomics.load(this.words, BROKEN) === 1 ? 0 : Atomics.load(this.words, COUNT);
  }

  /** Whether the barrier is broken (until `reset()`). */
  get broken(): boolean {
    return Atomics.load(this.words, BROKEN) === 1;
  }

  /**
   * Waits until all parties have arrived; returns this thread's arrival index (0 … parties − 1).
   * Throws `BrokenBarrierError` if the barrier is or gets broken, or if `timeout` ms (default: the
   * barrier's `timeout`) pass first, which also breaks it.
   */
  wait(timeout?: number): number {
    const words = this.words;
    const deadline = deadlineAfter(toWaitTimeout(timeout ?? this.#timeout));
    lockWord(words, MUTEX);
    const arrival = this.#arrive(false);
    if (arrival.done) return arrival.index;
    const gen = arrival.gen;
    if (!sleepOn(words, GEN, () => Atomics.load(words, GEN) !== gen, deadline)) {
      lockWord(words, MUTEX);
      this.#timedOut(gen);
    }
    return this.#outcome(gen, arrival.index);
  }

  /**
   * `wait` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`. An abort
   * of `signal` rejects with `signal.reason` and, like a timeout, breaks the barrier if this thread's
   * generation is still open (the others get `BrokenBarrierError`; `reset()` makes it usable again).
   *
   * @example
   * ```ts
   * const index = await barrier.waitAsync({ timeout: 5000, signal: controller.signal });
   * ```
   */
  async waitAsync(timeout?: WaitArg): Promise<number> {
    const { timeout: limit, signal } = parseWait(
      typeof timeout === 'object' && timeout !== null
        ? { timeout: timeout.timeout ?? this.#timeout, signal: timeout.signal }
        : (timeout ?? this.#timeout),
    );
    const words = this.words;
    const deadline = deadlineAfter(limit);
    await lockWordAsync(words, MUTEX, Infinity, signal);
    if (this.#action === undefined && this.#actionLoading !== undefined && Atomics.load(words, COUNT) === this.parties - 1) {
      // About to be the last: let this worker finish loading the action first (the mutex keeps the count).
      await this.#actionLoading;
    }
    const arrival = this.#arrive(true);
    if (arrival.done) return arrival.index;
    const gen = arrival.gen;
    let opened: boolean;
    try {
      opened = await sleepOnAsync(words, GEN, () => Atomics.load(words, GEN) !== gen, deadline, signal);
    } catch (reason) {
      await lockWordAsync(words, MUTEX);
      this.#timedOut(gen);
      throw reason;
    }
    if (!opened) {
      await lockWordAsync(words, MUTEX);
      this.#timedOut(gen);
    }
    return this.#outcome(gen, arrival.index);
  }

  /** Returns the barrier to its empty state; threads waiting on it get `BrokenBarrierError`. */
  reset(): void {
    const words = this.words;
    lockWord(words, MUTEX);
    if (Atomics.load(words, COUNT) > 0) this.#endGeneration(RESET);
    Atomics.store(words, BROKEN, 0);
    unlockWord(words, MUTEX);
  }

  /** Breaks the barrier: waiting and future `wait()` calls throw `BrokenBarrierError` until `reset()`. */
  abort(): void {
    const words = this.words;
    lockWord(words, MUTEX);
    this.#break(ABORTED);
    unlockWord(words, MUTEX);
  }

  // Called with the mutex held; releases it.
  #arrive(isAsync: boolean): { done: true; index: number } | { done: false; index: number; gen: number } {
    const words = this.words;
    if (Atomics.load(words, BROKEN) === 1) {
      const reason = Atomics.load(words, REASON);
      unlockWord(words, MUTEX);
      throw broken(reason);
    }
    const index = Atomics.add(words, COUNT, 1);
    const gen = Atomics.load(words, GEN);
    if (index + 1 < words[PARTIES]) {
      unlockWord(words, MUTEX);
      return { done: false, index, gen };
    }
    const failed = this.#runAction(isAsync);
    if (failed !== undefined) {
      this.#break(failed.reason);
      unlockWord(words, MUTEX);
      throw failed.error;
    }
    this.#endGeneration(PASSED);
    unlockWord(words, MUTEX);
    return { done: true, index };
  }

  // Runs the action, if any; when it fails, what breaks the barrier and what this party throws.
  #runAction(isAsync: boolean): { reason: number; error: unknown } | undefined {
    if (this.words[HAS_ACTION] === 0) return undefined;
    const action = this.#action;
    if (action === undefined && this.#actionError !== undefined) {
      const error = new BrokenBarrierError("the barrier's action could not be loaded in this thread, so the barrier broke", {
        cause: this.#actionError,
      });
      return { reason: ACTION_UNLOADABLE, error };
    }
    if (action === undefined) {
      const error = new BrokenBarrierError(
        "the barrier's action was still loading in this thread when it arrived last, so it could not run " +
          `and the barrier broke${isAsync ? '' : '; use await barrier.waitAsync(), which waits for the action to load'}`,
      );
      return { reason: ACTION_LOADING, error };
    }
    try {
      action();
    } catch (error) {
      return { reason: ACTION_THREW, error };
    }
    return undefined;
  }

  // Mutex held: the waiter's time ran out. If its generation is still open, break it.
  #timedOut(gen: number): void {
    if (Atomics.load(this.words, GEN) === gen) this.#break(TIMED_OUT);
    unlockWord(this.words, MUTEX);
  }

  // Mutex held.
  #break(reason: number): void {
    Atomics.store(this.words, REASON, reason);
    Atomics.store(this.words, BROKEN, 1);
    this.#endGeneration(reason);
  }

  // Mutex held: records how the open generation ended, opens the next one and wakes its waiters.
  #endGeneration(outcome: number): void {
    const words = this.words;
    const gen = Atomics.load(words, GEN);
    Atomics.store(words, OUTCOMES + (gen & (RING - 1)), outcome);
    Atomics.store(words, COUNT, 0);
    Atomics.add(words, GEN, 1);
    notify(words, GEN);
  }

  #outcome(gen: number, index: number): number {
    const outcome = Atomics.load(this.words, OUTCOMES + (gen & (RING - 1)));
    if (outcome === PASSED) return index;
    throw broken(outcome);
  }

  /** @internal */
  [reduce](): Reduced {
    if (this.#actionWire === undefined && this.#action !== undefined) {
      this.#actionWire = toWireFunction(this.#action, 'Barrier action');
    }
    const state: BarrierState = { words: this.words, timeout: this.#timeout, action: this.#actionWire ?? null };
    return { kind: 'Barrier', state };
  }
}

function broken(reason: number): BrokenBarrierError {
  const why = WHY[reason];
  return new BrokenBarrierError(why === undefined ? 'the barrier is broken' : `the barrier is broken: ${why}`);
}

registerShareable('Barrier', (state, later) => reviving.fill({ state: state as BarrierState, later }, () => new Barrier(0)), import.meta.url);
