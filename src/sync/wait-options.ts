/**
 * The last argument of every wait of the sync primitives and queues: a timeout in Python's position, or
 * `{ timeout?, signal? }` for the async forms; what it means, and the errors for a bad one. The waiting
 * itself is `runtime/futex.ts`.
 */
import { misuse } from '../errors.js';
import { waitTimeout } from '../timeout.js';

/** Cancels an async wait whose blocking form takes no timeout (`SimpleQueue.getAsync`, `recvAsync`). */
export interface AbortOptions {
  /** Aborting it rejects the wait with `signal.reason`; the object is left as if it had never waited. */
  signal?: AbortSignal;
}

/**
 * The last argument of every async wait, as an object. Every async wait also takes the timeout
 * alone, in Python's position. A timeout ends the wait as the blocking form's does (false, `Empty`,
 * `Full`…); an abort rejects with `signal.reason`.
 *
 * @example
 * ```ts
 * await lock.acquireAsync(1000);                                   // Python's position
 * await lock.acquireAsync({ timeout: 1000, signal: ac.signal });   // or either alone
 * const item = await queue.getAsync({ signal: AbortSignal.timeout(200) });
 * ```
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
