/**
 * The one place that calls `Atomics.wait`, `Atomics.waitAsync` and `Atomics.notify`; and `sleepOn`, the
 * wait loop of every primitive that waits for a word to change (`sleepOnAsync` is its twin that does
 * not block the event loop; only the mutex of `mutex.ts` keeps a loop of its own, an exchange loop).
 *
 * Every primitive of this library is a few `Int32Array` words in a `SharedArrayBuffer`; this module
 * turns "sleep while word == expected" and "wake sleepers on word" into calls that work the same in a
 * worker and on Node's main thread, with timeouts in milliseconds.
 *
 * Async waits and the program's life: a pending `Atomics.waitAsync` does not keep Node's event loop
 * alive, and that is what we want for a wait with no deadline. Whoever could end it (a running
 * `Process`, a busy pool worker, a timer of this thread; in a child, the parent, for which the child's
 * running target keeps it alive) keeps the program alive by itself; a wait that
 * nothing can end must not hang the program (`await Promise.race([q.getAsync(), sleep(200)])` at the
 * end of a script). A wait with a deadline is a timer, as `setTimeout` is: it keeps the program alive
 * until it settles, so `await lock.acquireAsync(100)` at the end of a script still returns its `false`.
 *
 * Cancelling: V8 cannot take a pending `waitAsync` back. Left in the word's wait list, an abandoned
 * waiter would absorb a later `notify(…, 1)` meant for a live one (a lost wakeup), so an aborted wait
 * wakes every waiter of its word, which removes it; the others re-check their condition and sleep
 * again, as after any spurious wakeup (every caller of this module loops on its condition).
 *
 * Keeping all this here means a future `'process'` start method can swap in real `futex(2)` calls
 * (V8's wait lists do not cross OS processes) without touching the primitives.
 */
import { misuse } from '../errors.js';
import { waitTimeout } from '../timeout.js';

/** What a wait ended with, as `Atomics.wait` reports it. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Cancels an async wait whose blocking form takes no timeout (`SimpleQueue.getAsync`, `recvAsync`). */
export interface AbortOptions {
  /** Aborting it rejects the wait with `signal.reason`; the object is left as if it had never waited. */
  signal?: AbortSignal;
}

/**
 * The last argument of every async wait, as an object: `lock.acquireAsync({ timeout: 1000, signal })`.
 * Every async wait also takes the timeout alone, in Python's position: `lock.acquireAsync(1000)`.
 */
export interface WaitOptions extends AbortOptions {
  /** At most this many ms: `undefined`, `null` or `Infinity` wait forever, a negative number is 0. */
  timeout?: number | null;
}

/** An async wait's last argument: a timeout in ms, or `{ timeout?, signal? }`. */
export type WaitArg = number | null | undefined | WaitOptions;

/** @internal A `WaitArg` taken apart: the normalised timeout and the signal, if any. */
export interface Wait {
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
}

const FOREVER: Wait = { timeout: Infinity, signal: undefined };

/**
 * @internal Reads an async wait's last argument. Throws (so the async method rejects before doing
 * anything) on a bad timeout or signal, and with `signal.reason` when the signal is already aborted.
 */
export function parseWait(arg: unknown, name = 'timeout'): Wait {
  if (arg === undefined || arg === null) return FOREVER;
  if (typeof arg !== 'object') return { timeout: waitTimeout(arg, name), signal: undefined };
  const { timeout, signal } = arg as WaitOptions;
  checkSignal(signal);
  return timeout === undefined && signal === undefined ? FOREVER : { timeout: waitTimeout(timeout, name), signal };
}

/** @internal `parseWait` for a wait that takes no timeout: its `{ signal? }`, checked as there. */
export function parseAbort(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `this wait takes no timeout, only { signal }, not ${describe(options)}`);
  }
  const { signal } = options as AbortOptions;
  checkSignal(signal);
  return signal;
}

function checkSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      `signal must be an AbortSignal (an AbortController's signal, or AbortSignal.timeout(ms)), not ${describe(signal)}`,
    );
  }
  signal?.throwIfAborted();
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

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

// Waits with a deadline keep the program alive (see the module notes): one ref'd timer, held while any
// of them is pending. V8 resolves their timeouts from an unref'd timer of its own, which this one keeps
// the loop running for.
let pendingTimedWaits = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdLoop(): void {
  if (pendingTimedWaits++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
}

function releaseLoop(): void {
  if (--pendingTimedWaits === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Waits without blocking the event loop while `words[index] === expected`, for at most `timeout` ms.
 * With no deadline, the wait alone does not keep the program alive; with one, it does until it
 * settles. An abort of `signal` rejects with `signal.reason` and removes the wait (see the module notes).
 */
export function waitAsync(
  words: Int32Array,
  index: number,
  expected: number,
  timeout: number = Infinity,
  signal?: AbortSignal,
): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const result = Atomics.waitAsync(words, index, expected, timeout);
  if (!result.async) return Promise.resolve(result.value);
  const timed = timeout !== Infinity;
  if (!timed && signal === undefined) return result.value;
  return new Promise<WaitResult>((resolve, reject) => {
    let pending = true;
    const settle = (): void => {
      pending = false;
      if (timed) releaseLoop();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      if (!pending) return;
      settle();
      Atomics.notify(words, index);
      reject(signal?.reason);
    };
    if (timed) holdLoop();
    signal?.addEventListener('abort', onAbort);
    void result.value.then((value) => {
      if (!pending) return;
      settle();
      resolve(value);
    });
  });
}

/** For `sleepOn`'s `sleepers`: nobody counts the sleepers. */
export const UNCOUNTED = -1;

/**
 * Blocks until `ready()` returns true (then returns true) or `deadline` (a `performance.now()` value,
 * `Infinity`: none) passes (then false). The wait loop of every primitive whose waiters wait for a word
 * to change: each round reads `words[index]`, then checks `ready()`, then sleeps only while the word
 * still holds what it read. Whoever makes `ready()` true changes that word afterwards (a flag, a
 * counter, a sequence it bumps) and notifies, so a change that lands between the check and the sleep
 * ends the sleep at once: no lost wakeup. With `sleepers`, `words[sleepers]` counts this thread while it
 * may sleep, so that the waker can skip `notify` when it reads 0 (sequentially consistent on both sides).
 *
 * `ready()` may take what it finds (a semaphore's unit): it is called only where a true return ends
 * the wait.
 */
export function sleepOn(
  words: Int32Array,
  index: number,
  ready: () => boolean,
  deadline: number,
  sleepers: number = UNCOUNTED,
): boolean {
  if (sleepers !== UNCOUNTED) Atomics.add(words, sleepers, 1);
  try {
    for (;;) {
      const seen = Atomics.load(words, index);
      if (ready()) return true;
      const left = remaining(deadline);
      if (left <= 0) return false;
      Atomics.wait(words, index, seen, left);
    }
  } finally {
    if (sleepers !== UNCOUNTED) Atomics.sub(words, sleepers, 1);
  }
}

/** `sleepOn` without blocking the event loop; an abort of `signal` rejects with its reason. */
export async function sleepOnAsync(
  words: Int32Array,
  index: number,
  ready: () => boolean,
  deadline: number,
  signal: AbortSignal | undefined,
  sleepers: number = UNCOUNTED,
): Promise<boolean> {
  if (sleepers !== UNCOUNTED) Atomics.add(words, sleepers, 1);
  try {
    for (;;) {
      const seen = Atomics.load(words, index);
      if (ready()) return true;
      const left = remaining(deadline);
      if (left <= 0) return false;
      await waitAsync(words, index, seen, left, signal);
    }
  } finally {
    if (sleepers !== UNCOUNTED) Atomics.sub(words, sleepers, 1);
  }
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
