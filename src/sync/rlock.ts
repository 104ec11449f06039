/**
 * `RLock`: a recursive lock in shared memory. Words: the robust mutex word of `mutex.ts` (which holds
 * the owner's token) and the recursion depth. Only the owner touches the depth, so it needs no atomic
 * updates; a thread reads its own token in the mutex word exactly when it holds the lock.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { holderOf, lastDeadHolder, lockWord, lockWordAsync, OWNER_DIED, selfToken, TIMED_OUT, tryLockWord, unlockWord, UNLOCKED, type LockResult } from './mutex.js';
import { Acquirable, acquireTimeout, checkAcquireTimeout, reportOwnerDied, revivingWords, sharedWords, type ConditionLock } from './guard.js';
import { parseWait, type WaitArg } from './wait-options.js';

// The depth sits on its own cache line (64 bytes on), so the holder's writes to it do not disturb the
// line that contending threads hit with compare-and-swap.
const STATE = 0;
const COUNT = 17;

/**
 * A recursive lock shared between processes (Python's `multiprocessing.RLock`): the thread that holds
 * it may acquire it again, and must release it as many times. Only the owner may release it. It is the
 * default lock of `Value` and `Array`.
 *
 * Ownership is per thread, as in Python: async tasks of one thread count as one owner, so an RLock
 * does not keep two of them apart. Use a `Lock` (with `acquireAsync`) for that.
 *
 * **An owner that dies** (terminated, killed, or a pool task stopped by its `timeout`/`signal`) does
 * not leave it stuck, as it would in Python: the next acquirer takes it over at depth 1, finds
 * `ownerDied` true, and a line on stderr names the dead process; see `Lock` for when the death is seen.
 *
 * @example
 * ```ts
 * const lock = new RLock();
 * lock.withLock(() => lock.withLock(() => console.log('nested is fine')));
 * ```
 */
export class RLock extends Acquirable implements Shareable, ConditionLock {
  /** @internal The shared words: [mutex word, …, depth]. */
  readonly words: Int32Array;
  /**
   * True when this handle's last acquire of the free lock took it over from a process that died
   * holding it (POSIX's `EOWNERDEAD`); false after any other first-level acquire.
   */
  ownerDied = false;

  constructor() {
    super();
    this.words = sharedWords(18);
  }

  /**
   * Takes the lock, or one more level of it if this thread holds it already. With `blocking = false`,
   * tries once. `timeout` is in ms (`undefined`: forever, negative: 0). Returns whether it got it.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    checkAcquireTimeout(blocking, timeout);
    const words = this.words;
    // Free: take it (the common, uncontended case).
    if (tryLockWord(words, STATE)) {
      words[COUNT] = 1;
      this.ownerDied = false;
      return true;
    }
    if (holderOf(words, STATE) === selfToken) {
      words[COUNT]++;
      return true;
    }
    return this.#took(lockWord(words, STATE, acquireTimeout(blocking, timeout)));
  }

  /**
   * Takes the lock (or one more level) without blocking the event loop; resolves to whether it got it
   * in time. Takes a timeout in ms or `{ timeout?, signal? }`, as `Lock.acquireAsync` does.
   */
  async acquireAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: ms, signal } = parseWait(timeout);
    const words = this.words;
    if (holderOf(words, STATE) === selfToken) {
      words[COUNT]++;
      return true;
    }
    return this.#took(await lockWordAsync(words, STATE, ms, signal));
  }

  #took(result: LockResult): boolean {
    if (result === TIMED_OUT) return false;
    this.words[COUNT] = 1;
    this.ownerDied = result === OWNER_DIED;
    if (this.ownerDied) reportOwnerDied('an RLock', lastDeadHolder());
    return true;
  }

  /**
   * Releases one level; the lock is free again when the depth reaches 0. Throws unless this thread owns
   * it: an `Error` with code `ERR_MP_RLOCK_NOT_OWNED` and Python's words (Python raises `AssertionError`
   * there; a misused state is a plain `Error` here, as in Node).
   */
  release(): void {
    const words = this.words;
    if (holderOf(words, STATE) !== selfToken) throw notOwned();
    if (--words[COUNT] === 0) unlockWord(words, STATE);
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
    const words = this.words;
    if (holderOf(words, STATE) !== selfToken) throw notOwned();
    const depth = words[COUNT];
    words[COUNT] = 0;
    unlockWord(words, STATE);
    return depth;
  }

  /** @internal */
  restore(depth: number): void {
    this.acquire();
    this.words[COUNT] = depth;
  }

  /** @internal */
  async restoreAsync(depth: number): Promise<void> {
    await this.acquireAsync();
    this.words[COUNT] = depth;
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'RLock', state: this.words };
  }
}

function notOwned(): Error {
  return misuse(
    Error,
    'ERR_MP_RLOCK_NOT_OWNED',
    'attempt to release recursive lock not owned by thread (only the thread that acquired an RLock may release it)',
  );
}

registerShareable('RLock', (state) => revivingWords.fill(state as Int32Array, () => new RLock()), import.meta.url);
