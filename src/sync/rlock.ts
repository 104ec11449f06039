/**
 * `RLock`: a recursive lock in shared memory. Three words: Drepper's mutex word, the owner (thread id
 * + 1) and the recursion depth. Only the owner touches the depth, so it needs no atomic updates.
 *
 * The owner word is read and written with plain accesses: the mutex word's atomics order everything
 * that matters, and a thread only ever compares the owner with its own id, which only it writes. So it
 * reads its own id there exactly when it holds the lock (it sees its own writes in order), whatever
 * stale value of other threads' ids it might see. A seq-cst store there would cost a full fence.
 */
import { misuse } from '../errors.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import { lockWord, lockWordAsync, tryLockWord, unlockWord, UNLOCKED } from './mutex.js';
import { Acquirable, acquireTimeout, adopt, selfId, sharedWords, type ConditionLock } from './guard.js';
import { parseWait, type WaitArg } from './futex.js';

// The owner and count sit on their own cache line (64 bytes on), so the holder's writes to them do not
// disturb the line that contending threads hit with compare-and-swap.
const STATE = 0;
const OWNER = 16;
const COUNT = 17;

/**
 * A recursive lock shared between processes (Python's `multiprocessing.RLock`): the thread that holds
 * it may acquire it again, and must release it as many times. Only the owner may release it. It is the
 * default lock of `Value` and `Array`.
 *
 * Ownership is per thread, as in Python: async tasks of one thread count as one owner, so an RLock
 * does not keep two of them apart. Use a `Lock` (with `acquireAsync`) for that.
 *
 * @example
 * ```ts
 * const lock = new RLock();
 * lock.withLock(() => lock.withLock(() => console.log('nested is fine')));
 * ```
 */
export class RLock extends Acquirable implements Shareable, ConditionLock {
  /** @internal The shared words: [mutex state, owner, depth]. */
  readonly words: Int32Array;

  constructor() {
    super();
    this.words = sharedWords(18);
  }

  /**
   * Takes the lock, or one more level of it if this thread holds it already. With `blocking = false`,
   * tries once. `timeout` is in ms (`undefined`: forever, negative: 0). Returns whether it got it.
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    const words = this.words;
    // Free: take it without touching the owner's line first (the common, uncontended case).
    if (tryLockWord(words, STATE)) {
      words[COUNT] = 1;
      words[OWNER] = selfId;
      return true;
    }
    if (words[OWNER] === selfId) {
      words[COUNT]++;
      return true;
    }
    if (lockWord(words, STATE, acquireTimeout(blocking, timeout))) {
      words[COUNT] = 1;
      words[OWNER] = selfId;
      return true;
    }
    return false;
  }

  /**
   * Takes the lock (or one more level) without blocking the event loop; resolves to whether it got it
   * in time. Takes a timeout in ms or `{ timeout?, signal? }`, as `Lock.acquireAsync` does.
   */
  async acquireAsync(timeout?: WaitArg): Promise<boolean> {
    const { timeout: ms, signal } = parseWait(timeout);
    const words = this.words;
    if (words[OWNER] === selfId) {
      words[COUNT]++;
      return true;
    }
    if (await lockWordAsync(words, STATE, ms, signal)) {
      words[COUNT] = 1;
      words[OWNER] = selfId;
      return true;
    }
    return false;
  }

  /** Releases one level; the lock is free again when the depth reaches 0. Throws unless this thread owns it. */
  release(): void {
    const words = this.words;
    if (words[OWNER] !== selfId) throw notOwned();
    if (--words[COUNT] === 0) {
      words[OWNER] = 0;
      unlockWord(words, STATE);
    }
  }

  /** Whether some thread holds the lock now. */
  locked(): boolean {
    return Atomics.load(this.words, STATE) !== UNLOCKED;
  }

  /** @internal */
  isMine(): boolean {
    return Atomics.load(this.words, OWNER) === selfId;
  }

  /** @internal */
  releaseAll(): number {
    const words = this.words;
    if (Atomics.load(words, OWNER) !== selfId) throw notOwned();
    const depth = words[COUNT];
    words[COUNT] = 0;
    Atomics.store(words, OWNER, 0);
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

registerShareable('RLock', (state) => adopt(state as Int32Array, () => new RLock()), import.meta.url);
