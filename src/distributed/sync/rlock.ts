/**
 * The distributed `RLock`: a recursive lock across machines on Redis (see `lease.ts`). Its owner is the
 * handle: the same handle may take it again, and must release it as many times.
 */
import { randomUUID } from 'node:crypto';
import { registerNamed } from '../objects/named.js';
import { LeasedLock, type LeaseOptions } from './lease.js';

/**
 * A recursive lock shared by every process that names the same `{ url, namespace, name }`. The handle
 * that holds it may acquire it again; it is free once that handle released it as many times. The
 * fencing token stays the same across the nested acquires.
 *
 * @example
 * ```ts
 * const rlock = new RLock({ url, name: 'tree' });
 * await rlock.acquireAsync(); await rlock.acquireAsync();   // nested
 * await rlock.releaseAsync(); await rlock.releaseAsync();   // now free
 * ```
 */
export class RLock extends LeasedLock {
  /** @internal */
  static readonly kind = 'RLock';
  readonly #owner = randomUUID();

  constructor(options: LeaseOptions) {
    super(options, true);
  }

  /** @internal The handle is the owner. */
  protected nextOwner(): string {
    return this.#owner;
  }
}

registerNamed('RLock', (where, [lease]) => new RLock({ ...where, lease: lease as number }), import.meta.url);
