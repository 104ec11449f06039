/**
 * A robust futex mutex over one `Int32Array` word: 0 when free, else the holder's owner token (see
 * `runtime/liveness.ts`) with the `WAITERS` bit set when someone may be sleeping. Drepper's mutex
 * ("Futexes Are Tricky", #2) with the holder in the word instead of a bare 1, as Linux's robust
 * futexes keep the holder's TID there: taking the lock and naming its holder are one
 * compare-and-swap, so there is no moment where a lock is held by nobody known.
 *
 * A holder can die holding it (a worker thread is terminated, its code never runs again). A waiter
 * whose holder is another process sleeps in slices of `SLICE_MS`, checks the holder between slices, and
 * takes the lock over when the holder is dead: the acquire then reports `OWNER_DIED`, like POSIX's
 * `EOWNERDEAD`. The uncontended path is one compare-and-swap, as before.
 *
 * These free functions are the core of `Lock`, `RLock`, `Barrier` and the queues' ring; they know
 * nothing about errors. Not fair on purpose: a fair ticket lock measured 10–17× slower on this kind of
 * machine, and spinning before sleeping gained nothing on 2 cores.
 */
import { deadlineAfter, notify, remaining, wait, waitAsync } from '../runtime/futex.js';
import { canWatch, isAlive, onOwnToken, TOKEN_MASK } from '../runtime/liveness.js';

export const UNLOCKED = 0;
/** Set in a held lock word when a waiter may be asleep: the unlock then wakes one. */
const WAITERS = 1 << 30;

/** `lockWord` results: falsy when the wait timed out. */
export const TIMED_OUT = 0;
export const ACQUIRED = 1;
/** Acquired from a holder that had died: what it protected may be half-updated. */
export const OWNER_DIED = 2;
export type LockResult = typeof TIMED_OUT | typeof ACQUIRED | typeof OWNER_DIED;

/** How long a waiter sleeps before it checks again whether the holder is alive. */
export const SLICE_MS = 50;

/**
 * This thread's owner token: what its locks hold while it holds them. A variable, not a call, on the
 * hot path of every lock; a child's bootstrap sets it once, before any of its code can take a lock.
 */
export let selfToken = 0;
onOwnToken((token) => {
  selfToken = token;
});

let lastDead = 0;

/** The token of the dead holder that this thread's last `OWNER_DIED` took the lock from. */
export function lastDeadHolder(): number {
  return lastDead;
}

/** One attempt, never sleeps, never recovers. */
export function tryLockWord(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, UNLOCKED, selfToken) === UNLOCKED;
}

/** The token of the lock's holder, or 0 when free. */
export function holderOf(words: Int32Array, index: number): number {
  return Atomics.load(words, index) & TOKEN_MASK;
}

/**
 * One step of the slow path: takes the lock if it is free or its holder is dead, and returns how; else
 * returns minus the word to sleep on (a held word is at least 1024), marked as having waiters if the
 * caller will sleep (`mark`: a try that will not sleep leaves the holder's release without a wake-up).
 * Whether the holder is alive is asked only with `checkDead`: a holder that dies never wakes its
 * sleepers, so a waiter asks after a whole slice passed without a wake-up (and a try that will not
 * sleep asks at once). Asking on every contended attempt cost W3 about a tenth of its throughput.
 */
function step(words: Int32Array, index: number, mark: boolean, checkDead: boolean): LockResult | number {
  for (;;) {
    const word = Atomics.load(words, index);
    if (word === UNLOCKED) {
      // Someone else may sleep: take it marked, so our unlock wakes them (Drepper's rule).
      if (Atomics.compareExchange(words, index, UNLOCKED, selfToken | WAITERS) === UNLOCKED) return ACQUIRED;
      continue;
    }
    const holder = word & TOKEN_MASK;
    if (checkDead && holder !== selfToken && !isAlive(holder)) {
      if (Atomics.compareExchange(words, index, word, selfToken | (word & WAITERS)) === word) {
        lastDead = holder;
        return OWNER_DIED;
      }
      continue;
    }
    if ((word & WAITERS) !== 0 || !mark) return -word;
    if (Atomics.compareExchange(words, index, word, word | WAITERS) === word) return -(word | WAITERS);
  }
}

/** The longest sleep on `word`: a slice when its holder's death could be noticed, else unbounded. */
function sliceFor(word: number): number {
  const holder = word & TOKEN_MASK;
  return holder !== selfToken && canWatch(holder) ? SLICE_MS : Infinity;
}

/**
 * Takes the mutex, sleeping while a live process holds it, for at most `timeout` ms (`Infinity` =
 * forever; 0 = no sleep, but a dead holder's lock is still taken over). Returns `ACQUIRED`,
 * `OWNER_DIED` (taken over from a dead holder) or `TIMED_OUT` (0).
 */
export function lockWord(words: Int32Array, index: number, timeout: number = Infinity): LockResult {
  if (Atomics.compareExchange(words, index, UNLOCKED, selfToken) === UNLOCKED) return ACQUIRED;
  const deadline = deadlineAfter(timeout);
  for (let checkDead = timeout <= 0; ; ) {
    const got = step(words, index, timeout > 0, checkDead);
    if (got >= 0) return got as LockResult;
    const left = remaining(deadline);
    if (left <= 0) return TIMED_OUT;
    checkDead = wait(words, index, -got, Math.min(left, sliceFor(-got))) === 'timed-out';
  }
}

/**
 * Like `lockWord`, but waits without blocking the event loop. An abort of `signal` rejects with its
 * reason and leaves the mutex untaken (its word may keep the `WAITERS` bit: the next unlock then wakes
 * a sleeper that is not there, which is harmless).
 */
export async function lockWordAsync(
  words: Int32Array,
  index: number,
  timeout: number = Infinity,
  signal?: AbortSignal,
): Promise<LockResult> {
  signal?.throwIfAborted();
  if (Atomics.compareExchange(words, index, UNLOCKED, selfToken) === UNLOCKED) return ACQUIRED;
  const deadline = deadlineAfter(timeout);
  for (let checkDead = timeout <= 0; ; ) {
    const got = step(words, index, timeout > 0, checkDead);
    if (got >= 0) return got as LockResult;
    const left = remaining(deadline);
    if (left <= 0) return TIMED_OUT;
    checkDead = (await waitAsync(words, index, -got, Math.min(left, sliceFor(-got)), signal)) === 'timed-out';
  }
}

/** Releases the mutex and wakes one sleeper if there may be any. Returns the word it replaced. */
export function unlockWord(words: Int32Array, index: number): number {
  const previous = Atomics.exchange(words, index, UNLOCKED);
  if ((previous & WAITERS) !== 0) notify(words, index, 1);
  return previous;
}
