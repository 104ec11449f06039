/**
 * The one place that calls `Atomics.wait`, `Atomics.waitAsync` and `Atomics.notify`.
 *
 * Every primitive of this library is a few `Int32Array` words in a `SharedArrayBuffer`; this module
 * turns "sleep while word == expected" and "wake sleepers on word" into calls that work the same in a
 * worker and on Node's main thread, with timeouts in milliseconds.
 *
 * Keeping them here means a future `'process'` start method can swap in real `futex(2)` calls
 * (V8's wait lists do not cross OS processes) without touching the primitives.
 */
import { waitTimeout } from '../timeout.js';

/** What a wait ended with, as `Atomics.wait` reports it. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Converts a user timeout (ms, `undefined` = forever, negative = 0) into what `Atomics.wait` takes. */
export const toWaitTimeout: (timeout: unknown) => number = (timeout) => waitTimeout(timeout);

/** Blocks the calling thread while `words[index] === expected`, for at most `timeout` ms. */
export function wait(words: Int32Array, index: number, expected: number, timeout: number = Infinity): WaitResult {
  return Atomics.wait(words, index, expected, timeout);
}

/** Wakes up to `count` threads sleeping on `words[index]`; returns how many woke. */
export function notify(words: Int32Array, index: number, count: number = Infinity): number {
  return Atomics.notify(words, index, count);
}

// A pending `Atomics.waitAsync` does not keep Node's event loop alive, so a program whose only work is
// an awaited lock would exit with the promise unsettled. One ref'd timer, held while any async wait is
// pending, keeps it alive.
let pendingAsyncWaits = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdLoop(): void {
  if (pendingAsyncWaits++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
}

function releaseLoop(): void {
  if (--pendingAsyncWaits === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Waits without blocking the event loop while `words[index] === expected`, for at most `timeout` ms.
 * The program stays alive until the wait settles.
 */
export function waitAsync(
  words: Int32Array,
  index: number,
  expected: number,
  timeout: number = Infinity,
): Promise<WaitResult> {
  const result = Atomics.waitAsync(words, index, expected, timeout);
  if (!result.async) return Promise.resolve(result.value);
  holdLoop();
  return result.value.then(
    (value) => {
      releaseLoop();
      return value;
    },
    (error: unknown) => {
      releaseLoop();
      throw error;
    },
  );
}

/**
 * Milliseconds left until `deadline` (a `performance.now()` value), for loops that wait several times
 * under one overall timeout. `Infinity` stays `Infinity`.
 */
export function remaining(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  const left = deadline - performance.now();
  return left > 0 ? left : 0;
}

/** The `performance.now()` value at which a wait of `timeout` ms (already normalised) must end. */
export function deadlineAfter(timeout: number): number {
  return timeout === Infinity ? Infinity : performance.now() + timeout;
}
