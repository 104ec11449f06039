/**
 * The lock of a distributed `Value` or `Array` (Python's `Synchronized`): by default a distributed
 * `RLock` named after the object, so every handle of the object, anywhere, finds the same lock; and the
 * methods that forward to it, as the local `Value` and `Array` have (`memory/synchronized.ts`).
 */
import { describeValue, misuse } from '../../errors.js';
import type { WaitArg } from '../../sync/wait-options.js';
import { Named, type NamedOptions } from '../objects/named.js';
import { Lock } from '../sync/lock.js';
import { RLock } from '../sync/rlock.js';

/** The `lock` option of the distributed `Value` and `Array`: `true` (default) for an `RLock` of its own, `false` for none, or a given lock. */
export type DistributedLockOption = boolean | Lock | RLock;

/**
 * @internal Base of the distributed `Value` and `Array`: the lock methods of the local ones, each
 * forwarding to `getLock()` (so blocking forms block this thread as the lock's own do, and an object
 * made with `{ lock: false }` throws `ERR_MP_NO_LOCK`).
 */
export abstract class Synchronized extends Named {
  /** The lock that guards this object (Python's `get_lock()`): a distributed `RLock` unless given. */
  abstract getLock(): Lock | RLock;

  /** Acquires the object's lock, blocking this thread: the fencing token, or `false` if not in time. */
  acquire(blocking: boolean = true, timeout?: number): number | false {
    return this.getLock().acquire(blocking, timeout);
  }

  /** Acquires the object's lock without blocking the event loop (a timeout in ms or `{ timeout?, signal? }`). */
  acquireAsync(timeout?: WaitArg): Promise<number | false> {
    return this.getLock().acquireAsync(timeout);
  }

  /** Releases the object's lock, blocking this thread for the round trip. */
  release(): void {
    this.getLock().release();
  }

  /** Releases the object's lock. */
  releaseAsync(): Promise<void> {
    return this.getLock().releaseAsync();
  }

  /**
   * `using _ = v.guard()`: holds the object's lock (taken blocking this thread) until the scope ends.
   *
   * @example
   * ```ts
   * { using _ = counter.guard(); counter.value += 1; }
   * ```
   */
  guard(timeout?: number): Disposable {
    return this.getLock().guard(timeout);
  }

  /** `await using _ = await v.guardAsync()`: holds the object's lock until the scope ends. */
  guardAsync(timeout?: WaitArg): Promise<Disposable & AsyncDisposable> {
    return this.getLock().guardAsync(timeout);
  }

  /** Runs `fn` holding the object's lock (taken and given back blocking this thread). */
  withLock<R>(fn: () => R): R {
    return this.getLock().withLock(fn);
  }

  /** Awaits the object's lock, then `fn`, and releases, also on rejection. */
  withLockAsync<R>(fn: () => R | Promise<R>, timeout?: WaitArg): Promise<Awaited<R>> {
    return this.getLock().withLockAsync(fn, timeout);
  }
}

/** @internal How the lock crosses with its object: which class, where, and its lease. */
export type LockSpec = { readonly kind: 'Lock' | 'RLock'; readonly where: Required<NamedOptions>; readonly lease: number } | null;

/** @internal The lock an object made with `option` uses. */
export function makeObjectLock(option: DistributedLockOption | undefined, where: Required<NamedOptions>, kind: string): Lock | RLock | null {
  if (option === undefined || option === true) return new RLock({ ...where, name: `${kind.toLowerCase()}:${where.name}` });
  if (option === false) return null;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw misuse(
    TypeError,
    'ERR_MP_LOCK_OPTION',
    `lock must be true, false, or a Lock or RLock from multiprocessing/distributed, not ${describeValue(option)}`,
  );
}

/** @internal */
export function lockSpec(lock: Lock | RLock | null): LockSpec {
  if (lock === null) return null;
  return { kind: lock instanceof RLock ? 'RLock' : 'Lock', where: { url: lock.url, namespace: lock.namespace, name: lock.name }, lease: lock.lease };
}

/** @internal */
export function lockFromSpec(spec: LockSpec): Lock | RLock | null {
  if (spec === null) return null;
  return spec.kind === 'RLock' ? new RLock({ ...spec.where, lease: spec.lease }) : new Lock({ ...spec.where, lease: spec.lease });
}

/** @internal `getLock()` on an object made with `{ lock: false }`. */
export function noLock(label: string): Error {
  return misuse(Error, 'ERR_MP_NO_LOCK', `${label} was made with { lock: false }: it has no lock to get`);
}
