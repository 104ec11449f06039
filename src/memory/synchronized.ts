/**
 * What `Value` and `Array` add to their raw forms (CPython's `Synchronized` and `SynchronizedArray`):
 * a lock, chosen by the `lock` option, and the methods that forward to it (`getLock`, `acquire`,
 * `release`, `guard`, `withLock` and their async forms).
 *
 * The two cannot share a base class: an `Array` is a real typed array (its class extends `Int32Array`,
 * `Float64Array`, …), and a `Value` extends `RawValue`. So the methods are written once here and
 * installed on each class's prototype by `synchronize`, and each class declares that it has them by
 * merging the `Synchronized` interface into its type. Both keep their lock in the same non-enumerable
 * slot (`setLock`), so the forwarding code is one.
 */
import { misuse } from '../errors.js';
import type { WaitArg } from '../sync/wait-options.js';
import { Lock } from '../sync/lock.js';
import { RLock } from '../sync/rlock.js';
import { reduce, revive, type Reduced } from '../transport/shareable.js';

/** The `lock` option of `Value` and `Array`: `true` for a new `RLock`, `false` for none, or a given lock. */
export type LockOption = boolean | Lock | RLock;

/**
 * The lock methods of `Value` and `Array` (Python's `Synchronized`): each forwards to `getLock()`.
 *
 * @example
 * ```ts
 * const hits = new Value('i', 0);
 * const counts = new Array('i', 4);
 * hits.withLock(() => { hits.value += 1; });
 * { using _ = counts.guard(); counts[0] += 1; }
 * ```
 */
export interface Synchronized {
  /** The lock that guards this object. Throws if it was made with `{ lock: false }` (or is a raw one). */
  getLock(): Lock | RLock;
  /** Acquires the object's lock (as Python's `Synchronized.acquire`). */
  acquire(blocking?: boolean, timeout?: number): boolean;
  /** Acquires the object's lock without blocking the event loop (a timeout in ms or `{ timeout?, signal? }`). */
  acquireAsync(timeout?: WaitArg): Promise<boolean>;
  /** Releases the object's lock. */
  release(): void;
  /**
   * `using _ = v.guard()`: holds the object's lock until the scope ends.
   *
   * @example
   * ```ts
   * { using _ = counter.guard(); counter.value += 1; }
   * ```
   */
  guard(timeout?: number): Disposable;
  /** `using _ = await v.guardAsync()`. */
  guardAsync(timeout?: WaitArg): Promise<Disposable>;
  /** Runs `fn` holding the object's lock. */
  withLock<R>(fn: () => R): R;
  /** Awaits the object's lock, then `fn`, and releases. */
  withLockAsync<R>(fn: () => R | Promise<R>, timeout?: WaitArg): Promise<Awaited<R>>;
}

const LOCK = Symbol('multiprocessing.lock');

interface Locked {
  readonly [LOCK]: Lock | RLock | null;
}

/**
 * @internal Gives `target` its lock (or none), in a slot that is not enumerable: `{ ...a }`,
 * `Object.keys(a)` and `assert.deepEqual` see only an array's elements.
 */
export function setLock(target: object, lock: Lock | RLock | null): void {
  Object.defineProperty(target, LOCK, { value: lock });
}

/** @internal The lock given by `setLock`, or null for none. */
export function lockOf(target: object): Lock | RLock | null {
  return (target as Locked)[LOCK];
}

/**
 * @internal Installs the `Synchronized` methods on `cls.prototype`; `what` names the class in the
 * error of `getLock()` on an object without a lock.
 */
export function synchronize(cls: { readonly prototype: object }, what: 'Value' | 'Array'): void {
  const locked = (self: object): Lock | RLock => lockOf(self) ?? throwNoLock(what);
  const methods: Synchronized & ThisType<object> = {
    getLock() {
      return locked(this);
    },
    acquire(blocking = true, timeout) {
      return locked(this).acquire(blocking, timeout);
    },
    acquireAsync(timeout) {
      return locked(this).acquireAsync(timeout);
    },
    release() {
      locked(this).release();
    },
    guard(timeout) {
      return locked(this).guard(timeout);
    },
    guardAsync(timeout) {
      return locked(this).guardAsync(timeout);
    },
    withLock(fn) {
      return locked(this).withLock(fn);
    },
    withLockAsync(fn, timeout) {
      return locked(this).withLockAsync(fn, timeout);
    },
  };
  // Not enumerable, as class methods are.
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(cls.prototype, name, { value: method, writable: true, configurable: true });
  }
}

/** @internal The lock a `lock` option asks for. */
export function makeLock(option: LockOption | undefined): Lock | RLock | null {
  if (option === undefined || option === true) return new RLock();
  if (option === false) return null;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw misuse(TypeError, 'ERR_MP_LOCK_OPTION', `lock must be true, false, a Lock or an RLock, not ${String(option)}`);
}

/** @internal The reduced form of an object's lock, for its `[reduce]()`. */
export function reduceLock(target: object): Reduced | null {
  const lock = lockOf(target);
  return lock === null ? null : lock[reduce]();
}

/** @internal The lock of a revived object. */
export function reviveLock(reduced: Reduced | null): Lock | RLock | null {
  return reduced === null ? null : (revive(reduced) as Lock | RLock);
}

function throwNoLock(what: string): never {
  throw misuse(
    Error,
    'ERR_MP_NO_LOCK',
    `this ${what} was created with { lock: false } and has no lock: create it with a lock (the default) or pass one ({ lock: new Lock() })`,
  );
}
