/**
 * Drepper's three-state futex mutex ("Futexes Are Tricky", mutex #2) over one `Int32Array` word:
 * 0 = unlocked, 1 = locked, 2 = locked and someone may be sleeping.
 *
 * These free functions are the core of `Lock`, `RLock` and the queues' ring; they know nothing about
 * owners or errors. Not fair on purpose: a fair ticket lock measured 10–17× slower on this kind of
 * machine, and spinning before sleeping gained nothing on 2 cores.
 */
import { deadlineAfter, notify, remaining, wait, waitAsync } from './futex.js';

export const UNLOCKED = 0;
export const LOCKED = 1;
export const CONTENDED = 2;

/** One attempt, never sleeps. */
export function tryLockWord(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, UNLOCKED, LOCKED) === UNLOCKED;
}

/**
 * Takes the mutex, sleeping while it is held, for at most `timeout` ms (`Infinity` = forever).
 * Returns false on timeout.
 */
export function lockWord(words: Int32Array, index: number, timeout: number = Infinity): boolean {
  if (Atomics.compareExchange(words, index, UNLOCKED, LOCKED) === UNLOCKED) return true;
  if (timeout <= 0) return false;
  const deadline = deadlineAfter(timeout);
  // Mark contended; whoever unlocks will wake one sleeper.
  while (Atomics.exchange(words, index, CONTENDED) !== UNLOCKED) {
    const left = remaining(deadline);
    if (left <= 0) return false;
    wait(words, index, CONTENDED, left);
  }
  return true;
}

/**
 * Like `lockWord`, but waits without blocking the event loop. An abort of `signal` rejects with its
 * reason and leaves the mutex untaken (its word may stay CONTENDED: the next unlock then wakes a
 * sleeper that is not there, which is harmless).
 */
export async function lockWordAsync(
  words: Int32Array,
  index: number,
  timeout: number = Infinity,
  signal?: AbortSignal,
): Promise<boolean> {
  signal?.throwIfAborted();
  if (Atomics.compareExchange(words, index, UNLOCKED, LOCKED) === UNLOCKED) return true;
  if (timeout <= 0) return false;
  const deadline = deadlineAfter(timeout);
  while (Atomics.exchange(words, index, CONTENDED) !== UNLOCKED) {
    const left = remaining(deadline);
    if (left <= 0) return false;
    await waitAsync(words, index, CONTENDED, left, signal);
  }
  return true;
}

/** Releases the mutex and wakes one sleeper if there may be any. Returns the state it replaced. */
export function unlockWord(words: Int32Array, index: number): number {
  const previous = Atomics.exchange(words, index, UNLOCKED);
  if (previous === CONTENDED) notify(words, index, 1);
  return previous;
}
