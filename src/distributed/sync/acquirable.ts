/**
 * What the distributed lock-like classes (`Lock`, `RLock`, `Semaphore`) share: the scoped forms built
 * on their `acquire`/`release`, as `sync/guard.ts` gives the local ones; the async forms release with
 * `releaseAsync`, so no step of them blocks the event loop. The blocking forms (`guard`, `withLock`)
 * block this thread as `acquire()` does, through the helper thread of `objects/blocking.ts`.
 */
import { TimeoutError } from '../../errors.js';
import type { WaitArg } from '../../sync/wait-options.js';
import { Named } from '../objects/named.js';

/** @internal Base of the distributed `Lock`, `RLock` and `Semaphore`. */
export abstract class Acquirable extends Named {
  /** Takes it, blocking this thread; a number (a fencing token) or `true` when taken, `false` if not in time. */
  abstract acquire(blocking?: boolean, timeout?: number): number | boolean;
  /** Takes it without blocking the event loop; see `acquire`. */
  abstract acquireAsync(timeout?: WaitArg): Promise<number | boolean>;
  abstract release(): void;
  abstract releaseAsync(): Promise<void>;

  /**
   * Takes it, blocking this thread, and returns what gives it back at the end of the scope:
   * `using _ = lock.guard()`. With a `timeout` (ms), throws `TimeoutError` if it could not be taken in time.
   */
  guard(timeout?: number): Disposable {
    if (this.acquire(true, timeout) === false) throw timedOut(this.name);
    return scoped(this);
  }

  /** Runs `fn` holding it (blocking this thread to take and give it back), also releasing when `fn` throws. */
  withLock<R>(fn: () => R): R {
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /**
   * Takes it without blocking the event loop, awaits `fn`, and releases, also on rejection. The
   * optional last argument bounds the wait (`TimeoutError`, or `signal.reason` on abort).
   *
   * @example `await lock.withLockAsync(async () => ledger.append(entry, lock.fencingToken));`
   */
  async withLockAsync<R>(fn: () => R | Promise<R>, timeout?: WaitArg): Promise<Awaited<R>> {
    if ((await this.acquireAsync(timeout)) === false) throw timedOut(this.name);
    try {
      return await fn();
    } finally {
      await this.releaseAsync();
    }
  }

  /**
   * Takes it without blocking the event loop and returns what gives it back at the end of the scope:
   * `await using _ = await lock.guardAsync()` releases without blocking; `using _ = await
   * lock.guardAsync()` (the local form) works too, and releases blocking this thread for the round trip.
   * Throws `TimeoutError` if it could not be taken in time.
   */
  async guardAsync(timeout?: WaitArg): Promise<Disposable & AsyncDisposable> {
    if ((await this.acquireAsync(timeout)) === false) throw timedOut(this.name);
    return scoped(this);
  }
}

/** What releases a hold once, by whichever end of scope comes: `using` (blocking) or `await using`. */
function scoped(lock: Acquirable): Disposable & AsyncDisposable {
  let held = true;
  const take = (): boolean => {
    const was = held;
    held = false;
    return was;
  };
  return {
    [Symbol.dispose]: () => {
      if (take()) lock.release();
    },
    [Symbol.asyncDispose]: async () => {
      if (take()) await lock.releaseAsync();
    },
  };
}

function timedOut(name: string): TimeoutError {
  return new TimeoutError(`could not acquire '${name}' within the timeout`);
}
