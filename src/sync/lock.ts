/**
 * `Lock`: a non-recursive lock in shared memory, usable from any worker and from the main thread.
 *
 * Two `Int32Array` words: Drepper's three-state mutex word (see `mutex.ts`) and an owner word (the
 * holder's thread id + 1, 0 when free) used by `Condition` and in error messages. As in Python, any
 * thread may release a `Lock`, not only the one that acquired it.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { lockWord, lockWordAsync, tryLockWord, unlockWord, UNLOCKED } from './mutex.js';
import { Acquirable, acquireTimeout, adopt, selfId, sharedWords, type ConditionLock } from './guard.js';
import { parseWait, type WaitArg } from './futex.js';

const STATE = 0;
const OWNER = 1;

/**
 * A lock object shared between processes (Python's `multiprocessing.Lock`). Not recursive: a second
 * `acquire()` by the holder blocks. Any thread may release it.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * new Process({ target: work, args: [lock] }).start();
 * using _ = lock.guard();          // or: lock.withLock(() => …), await lock.withLockAsync(async () => …)
 * ```
 */
export class Lock extends Acquirable implements Shareable, ConditionLock {
  /** @internal The shared words: [mutex state, owner]. */
  readonly words: Int32Array;

  constructor() {
    super();
    this.words = sharedWords(2);
  }

  /**
   * Takes the lock. With `blocking = false`, tries once. `timeout` is in ms (`undefined`: forever,
   * negative: 0). Returns whether it got the lock.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    const words = this.words;
    if (tryLockWord(words, STATE) || lockWord(words, STATE, acquireTimeout(blocking, timeout))) {
      words[OWNER] = selfId;
      return true;
    }
    return false;
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
    const words = this.words;
    if (await lockWordAsync(words, STATE, ms, signal)) {
      words[OWNER] = selfId;
      return true;
    }
    return false;
  }

  /** Releases the lock (from any thread). Throws if it is not locked. */
  release(): void {
    const words = this.words;
    if (Atomics.load(words, STATE) === UNLOCKED) throw notLocked();
    words[OWNER] = 0;
    if (unlockWord(words, STATE) === UNLOCKED) throw notLocked();
  }

  /** Whether some thread holds the lock now. */
  locked(): boolean {
    return Atomics.load(this.words, STATE) !== UNLOCKED;
  }

  /** @internal */
  isMine(): boolean {
    return Atomics.load(this.words, OWNER) === selfId && this.locked();
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

registerShareable('Lock', (state) => adopt(state as Int32Array, () => new Lock()), import.meta.url);
