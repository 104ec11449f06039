/**
 * `AsyncResult`: the handle `applyAsync`/`mapAsync` return, as Python's. It is also a `PromiseLike`, so
 * `await pool.applyAsync(f, [x])` works.
 */
import { TimeoutError } from '../errors.js';
import { misuse } from '../errors.js';
import { startTimer, waitTimeout } from '../timeout.js';
import { runUserCallback } from './delivery.js';

/** Callbacks of `applyAsync`/`mapAsync`. One that throws is reported on stderr; the result still settles. */
export interface Callbacks<R> {
  callback?: (value: R) => void;
  errorCallback?: (error: unknown) => void;
}

/**
 * The eventual result of a pool task.
 *
 * @example
 * ```ts
 * const result = pool.applyAsync(cube, [3]);
 * result.ready();          // false, for now
 * await result.get(1000);  // 27, or TimeoutError after 1 s
 * ```
 */
export class AsyncResult<R> implements PromiseLike<R> {
  readonly #promise: Promise<R>;
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';

  /** @internal Built by the pool from the promise of its task(s). */
  constructor(promise: Promise<R>, callbacks: Callbacks<R> = {}) {
    this.#promise = promise.then(
      (value) => {
        this.#state = 'fulfilled';
        if (callbacks.callback) runUserCallback('the callback of an AsyncResult', () => callbacks.callback!(value));
        return value;
      },
      (error: unknown) => {
        this.#state = 'rejected';
        if (callbacks.errorCallback) runUserCallback('the errorCallback of an AsyncResult', () => callbacks.errorCallback!(error));
        throw error;
      },
    );
    // A result nobody awaits must not crash the program with an unhandled rejection: Python keeps the
    // error in the result until `get()` is called.
    this.#promise.catch(() => {});
  }

  /**
   * The value, or the task's error; with `timeout` (ms), rejects with `TimeoutError` if not ready by then.
   * `undefined` or `Infinity` waits forever; a negative timeout is 0, as in Python.
   */
  get(timeout?: number): Promise<R> {
    let ms: number;
    try {
      ms = waitTimeout(timeout, 'timeout');
    } catch (error) {
      return Promise.reject(error);
    }
    if (ms === Infinity || this.#state !== 'pending') return this.#promise;
    return new Promise<R>((resolve, reject) => {
      const timer = startTimer(() => reject(new TimeoutError(`the result was not ready within ${ms} ms`)), ms);
      this.#promise.then(
        (value) => {
          timer.cancel();
          resolve(value);
        },
        (error: unknown) => {
          timer.cancel();
          reject(error);
        },
      );
    });
  }

  /** Waits until the result is ready, or `timeout` ms. Rejects only for a misused `timeout`. */
  async wait(timeout?: number): Promise<void> {
    waitTimeout(timeout, 'timeout');
    try {
      await this.get(timeout);
    } catch {
      // wait() only waits; get() reports the outcome
    }
  }

  /** Whether the task has finished. */
  ready(): boolean {
    return this.#state !== 'pending';
  }

  /** Whether the task finished without error. Throws if it has not finished yet. */
  successful(): boolean {
    if (this.#state === 'pending') throw misuse(Error, 'ERR_MP_NOT_READY', `${String(this)} not ready`);
    return this.#state === 'fulfilled';
  }

  then<T1 = R, T2 = never>(
    onfulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.#promise.then(onfulfilled, onrejected);
  }

  toString(): string {
    return '<AsyncResult>';
  }
}
