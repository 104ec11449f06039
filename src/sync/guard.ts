/**
 * What every lock-like class shares: the scoped forms (`guard`, `guardAsync`, `withLock`,
 * `withLockAsync`) built on `acquire`/`acquireAsync`/`release`, the report of a lock taken over from
 * a dead holder, and their shared words (new ones, or those a reviver hands over).
 *
 * Internal: the public classes extend `Acquirable` so the scoped forms exist once.
 */
import { TimeoutError } from '../errors.js';
import { waitTimeout } from '../timeout.js';
import type { WaitArg } from './wait-options.js';
import { currentProcess } from '../runtime/identity.js';
import { describeToken } from '../runtime/liveness.js';
import { allocateShared } from '../runtime/shared-memory.js';
import { ReviveSlot } from '../transport/shareable.js';

/**
 * Prints the one line that says a lock was taken over from a dead holder (the acquirer also sees its
 * `ownerDied` flag): whatever the holder was updating may be half done.
 * @internal
 */
export function reportOwnerDied(what: string, holder: number): void {
  process.stderr.write(
    `multiprocessing: ${describeToken(holder)} died holding ${what}; ` +
      `${currentProcess().name} took it over (what it protects may be half-updated)\n`,
  );
}

/** The blocking and async acquire/release trio that the scoped forms are built on. */
export interface AcquireRelease {
  acquire(blocking?: boolean, timeout?: number): boolean;
  acquireAsync(timeout?: WaitArg): Promise<boolean>;
  release(): void;
}

/** Base of `Lock`, `RLock`, `Semaphore` and `Condition`: scoped forms that release on throw. */
export abstract class Acquirable implements AcquireRelease {
  abstract acquire(blocking?: boolean, timeout?: number): boolean;
  /**
   * Takes it without blocking the event loop; resolves to whether it got it in time. The argument is a
   * timeout in ms or `{ timeout?, signal? }`: an abort of `signal` rejects with `signal.reason` and
   * leaves nothing taken.
   */
  abstract acquireAsync(timeout?: WaitArg): Promise<boolean>;
  abstract release(): void;

  /**
   * Acquires, and returns a `Disposable` that releases: `using _ = lock.guard()`.
   * With a `timeout` (ms), throws `TimeoutError` if it could not acquire in time.
   */
  guard(timeout?: number): Disposable {
    if (!this.acquire(true, timeout)) throw timedOut(timeout);
    return releaser(this);
  }

  /**
   * Acquires without blocking the event loop: `using _ = await lock.guardAsync()`. Takes a timeout in
   * ms or `{ timeout?, signal? }`; throws `TimeoutError` if it could not acquire in time, and rejects
   * with `signal.reason` on abort.
   *
   * @example
   * ```ts
   * using _ = await lock.guardAsync({ timeout: 1000, signal: AbortSignal.timeout(500) });
   * ```
   */
  async guardAsync(timeout?: WaitArg): Promise<Disposable> {
    if (!(await this.acquireAsync(timeout))) throw timedOut(timeout);
    return releaser(this);
  }

  /** Runs `fn` while holding the lock, and releases afterwards, also when `fn` throws. */
  withLock<R>(fn: () => R): R {
    this.acquire();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /**
   * Awaits the lock without blocking the event loop, awaits `fn`, and releases, also on rejection.
   * The optional last argument bounds the wait for the lock as `guardAsync`'s does (`TimeoutError`, or
   * `signal.reason` on abort); `fn` itself is not interrupted.
   *
   * @example
   * ```ts
   * await lock.withLockAsync(async () => save(), { signal: controller.signal });
   * ```
   */
  async withLockAsync<R>(fn: () => R | Promise<R>, timeout?: WaitArg): Promise<Awaited<R>> {
    if (!(await this.acquireAsync(timeout))) throw timedOut(timeout);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

// A class rather than an object literal: a literal with a computed symbol key gets a slow shape, and
// measured 6× slower per `using` than instances of this class.
class Releaser implements Disposable {
  #lock: AcquireRelease | undefined;
  constructor(lock: AcquireRelease) {
    this.#lock = lock;
  }
  [Symbol.dispose](): void {
    const lock = this.#lock;
    if (lock === undefined) return;
    this.#lock = undefined;
    lock.release();
  }
}

function releaser(lock: AcquireRelease): Disposable {
  return new Releaser(lock);
}

function timedOut(timeout: WaitArg): TimeoutError {
  const ms = typeof timeout === 'object' && timeout !== null ? timeout.timeout : timeout;
  return new TimeoutError(`could not acquire the lock within ${ms} ms`);
}

/**
 * What `Condition` needs from its lock: whether this thread holds it, and how to let go of every
 * recursion level and take them back.
 * @internal
 */
export interface ConditionLock extends AcquireRelease {
  /** True when the calling thread holds the lock. */
  isMine(): boolean;
  /** Releases completely; returns what `restore` needs (the recursion depth). */
  releaseAll(): number;
  /** Takes the lock back after `releaseAll`, blocking. */
  restore(saved: number): void;
  /** Takes the lock back after `releaseAll`, without blocking the event loop. */
  restoreAsync(saved: number): Promise<void>;
}

/**
 * The wait, in ms, for `acquire(blocking, timeout)`: `blocking = false` never waits (a timeout is then
 * ignored, as in Python's multiprocessing), `undefined` waits forever, a negative timeout is 0.
 */
export function acquireTimeout(blocking: boolean, timeout: number | undefined): number {
  return blocking ? waitTimeout(timeout) : 0;
}

/**
 * Throws for a bad `timeout` of `acquire(blocking, timeout)` (`NaN`, not a number) as `acquireTimeout`
 * would, before the uncontended fast path that never gets that far: a free lock must refuse it too.
 * The usual absent timeout costs one `typeof`.
 */
export function checkAcquireTimeout(blocking: boolean, timeout: number | undefined): void {
  if (typeof timeout !== 'undefined' && blocking) waitTimeout(timeout);
}

/**
 * @internal The revive slot of the lock-like classes (`Lock`, `RLock`, `Semaphore`, `Event`): their
 * revivers hand the existing shared words to the constructor through it.
 */
export const revivingWords = new ReviveSlot<Int32Array>();

/** @internal `count` fresh zeroed shared words, or the words being revived (see `revivingWords`). */
export function sharedWords(count: number): Int32Array {
  return revivingWords.take() ?? new Int32Array(allocateShared(count * 4));
}
