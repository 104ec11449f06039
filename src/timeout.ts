/**
 * What a timeout argument means, in one place. Every timeout of the library is in milliseconds.
 *
 * - A **wait** (`join`, `AsyncResult.get`, `acquire`, a queue's `get`/`put`, `Event.wait`…) takes
 *   `undefined`, `null` or `Infinity` as "forever", and a negative number as 0, as Python does.
 * - A **limit** on how long something may run (a pool task's `timeout` option) takes `undefined` or
 *   `Infinity` as "no limit"; a negative limit is a mistake, not "stop at once".
 * - Either way, `NaN` or a value that is not a number throws at the call, naming the argument.
 *
 * Node's timers fire after about 1 ms when given more than 2³¹ − 1 ms (with a warning), which made a
 * task's `timeout: Infinity` stop it at once; `startTimer` re-arms long delays instead.
 */
import { describeValue, misuse } from './errors.js';

/** The longest delay a Node timer takes as it is. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_TIMEOUT',
      `${name} must be a number of milliseconds (or undefined to wait forever), not ${describeValue(value)}`,
    );
  }
  if (Number.isNaN(value)) {
    throw misuse(RangeError, 'ERR_MP_INVALID_TIMEOUT', `${name} must be a number of milliseconds, not NaN`);
  }
  return value;
}

/**
 * A wait's timeout in ms: `undefined`/`null` → `Infinity` (forever), negative → 0.
 *
 * @example `waitTimeout(undefined) // Infinity`
 */
export function waitTimeout(value: unknown, name = 'timeout'): number {
  if (value === undefined || value === null) return Infinity;
  const ms = checkNumber(value, name);
  return ms < 0 ? 0 : ms;
}

/**
 * A run-time limit in ms: `undefined`/`Infinity` → `Infinity` (no limit); negative throws.
 *
 * @example `limitTimeout(500, 'timeout') // 500`
 */
export function limitTimeout(value: unknown, name = 'timeout'): number {
  if (value === undefined) return Infinity;
  const ms = checkNumber(value, name);
  if (ms < 0) {
    throw misuse(RangeError, 'ERR_MP_INVALID_TIMEOUT', `${name} must be 0 or more milliseconds (or Infinity for no limit), not ${ms}`);
  }
  return ms;
}

/** A pending `startTimer`; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * Calls `callback` once after `ms` milliseconds, for any `ms`: `Infinity` never fires, delays past
 * 2³¹ − 1 ms are re-armed rather than firing at once. With `keepAlive: false` the timer alone does
 * not keep the program alive.
 */
export function startTimer(callback: () => void, ms: number, keepAlive = true): Timer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  if (ms !== Infinity) {
    const deadline = performance.now() + ms;
    const arm = (delay: number): void => {
      handle = setTimeout(() => {
        const left = deadline - performance.now();
        if (left > 0.5) arm(left);
        else callback();
      }, Math.min(Math.max(0, delay), MAX_TIMER_MS));
      if (!keepAlive) handle.unref();
    };
    arm(ms);
  }
  return {
    cancel(): void {
      if (handle !== undefined) clearTimeout(handle);
      handle = undefined;
    },
  };
}
