/**
 * `Lock`: a non-recursive lock in shared memory, usable from any worker and from the main thread.
 *
 * One `Int32Array` word: the robust mutex word of `mutex.ts`, which holds the holder's owner token
 * (used by `Condition` and to recover the lock when its holder dies). As in Python, any thread may
 * release a `Lock`, not only the one that acquired it.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { holderOf, lastDeadHolder, lockWord, lockWordAsync, OWNER_DIED, selfToken, TIMED_OUT, tryLockWord, unlockWord, UNLOCKED, type LockResult } from './mutex.js';
import { Acquirable, acquireTimeout, checkAcquireTimeout, reportOwnerDied, revivingWords, sharedWords, type ConditionLock } from './guard.js';
import { parseWait, type WaitArg } from './wait-options.js';

const STATE = 0;

/**
 * A lock object shared between processes (Python's `multiprocessing.Lock`). Not recursive: a second
 * `acquire()` by the holder blocks. Any thread may release it.
 *
 * **A holder that dies** (a process terminated or killed, a pool task stopped by its `timeout` or
 * `signal`) does not leave the lock stuck, as it would in Python: the next acquirer takes it over,
 * finds `ownerDied` true, and a line on stderr names the dead process. What the lock protected may be
 * half-updated: check it. Waiters notice the death within about 50 ms of the parent seeing the holder
 * exit, which happens on the parent's event loop: a main thread that terminates a holder and then
 * blocks in `acquire()` without awaiting anything (`await p.join()`) never sees it.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * new Process({ target: work, args: [lock] }).start();
 * using _ = lock.guard();          // or: lock.withLock(() => …), await lock.withLockAsync(async () => …)
 * if (lock.ownerDied) repairSharedState();
 * ```
 */
export class Lock extends Acquirable implements Shareable, ConditionLock {
  /** @internal The shared words: [mutex word]. */
  readonly words: Int32Array;
  /**
   * True when this handle's last successful acquire took the lock over from a process that died
   * holding it (POSIX's `EOWNERDEAD`); false after any other acquire.
   */
  ownerDied = false;

  constructor() {
    super();
    this.words = sharedWords(1);
  }

  /**
   * Takes the lock. With `blocking = false`, tries once (and still takes over a dead holder's lock).
   * `timeout` is in ms (`undefined`: forever, negative: 0). Returns whether it got the lock.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    checkAcquireTimeout(blocking, timeout);
    const words = this.words;
    if (tryLockWord(words, STATE)) {
      this.ownerDied = false;
      return true;
    }
    return this.#took(lockWord(words, STATE, acquireTimeout(blocking, timeout)));
  }

  /**
   * Takes the lock without blocking the event loop; resolves to whether it got it in time. Takes a
   * timeout in ms or `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason` and
   * leaves the lock untaken.
   *
   * @example
   * ```ts
   * if (await lock.acquireAsync(1000)) try { … } finally { lock.release(); }
   * await lock.acquireAsync({ signal: AbortSignal.timeout(1000) }); // rejects with a TimeoutError DOMException
   * ```
   */
  async acquireAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: ms, signal } = parseWait(timeout);
    return this.#took(await lockWordAsync(this.words, STATE, ms, signal));
  }

  #took(result: LockResult): boolean {
    if (result === TIMED_OUT) return false;
    this.ownerDied = result === OWNER_DIED;
    if (this.ownerDied) reportOwnerDied('a Lock', lastDeadHolder());
    return true;
  }

  /**
   * Releases the lock (from any thread). Throws if it is not locked: an `Error` with code
   * `ERR_MP_LOCK_NOT_HELD` and Python's words (Python raises `ValueError` there).
   */
  release(): void {
    if (unlockWord(this.words, STATE) === UNLOCKED) throw notLocked();
  }

  /** Whether some thread holds the lock now. */
  locked(): boolean {
    return Atomics.load(this.words, STATE) !== UNLOCKED;
  }

  /** @internal */
  isMine(): boolean {
    return holderOf(this.words, STATE) === selfToken;
  }

  /** @internal */
  releaseAll(): number {
    this.release();
    return 1;
  }

  /** @internal */
  restore(): void {
    this.acquire();
  }

  /** @internal */
  async restoreAsync(): Promise<void> {
    await this.acquireAsync();
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'Lock', state: this.words };
  }

}

function notLocked(): Error {
  return misuse(
    Error,
    'ERR_MP_LOCK_NOT_HELD',
    'semaphore or lock released too many times (release() was called on a Lock that is not locked; ' +
      'call release() once per successful acquire())',
  );
}

registerShareable('Lock', (state) => revivingWords.fill(state as Int32Array, () => new Lock()), import.meta.url);
