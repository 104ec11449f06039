/**
 * The lock of a distributed `Value` or `Array` (Python's `Synchronized`): by default a distributed
 * `RLock` named after the object, so every handle of the object, anywhere, finds the same lock.
 */
import { describeValue, misuse } from '../../errors.js';
import type { NamedOptions } from '../objects/named.js';
import { Lock } from '../sync/lock.js';
import { RLock } from '../sync/rlock.js';

/** The `lock` option of the distributed `Value` and `Array`: `true` (default) for an `RLock` of its own, `false` for none, or a given lock. */
export type DistributedLockOption = boolean | Lock | RLock;

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
