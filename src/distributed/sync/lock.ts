/**
 * The distributed `Lock`: Python's `Lock` across machines, on Redis (a lease with a fencing token:
 * see `lease.ts`). Not recursive: a second `acquire()` through the same handle waits, as locally.
 */
import { randomUUID } from 'node:crypto';
import { registerNamed } from '../objects/named.js';
import { LeasedLock, type LeaseOptions } from './lease.js';

/**
 * A lock shared by every process, on any machine, that names the same `{ url, namespace, name }`.
 * `acquire` returns a **fencing token**: a number larger than any earlier holder's. A lock held as a
 * lease is advisory under failures (a holder paused past its lease loses it without knowing at once):
 * pass the token to what the lock protects, and have it refuse smaller tokens.
 *
 * Release through the handle that acquired (a distributed lock knows its holder only by that handle).
 * A handle passed to a task or a `Process` crosses as its name: the other side's copy is a new handle.
 *
 * @example
 * ```ts
 * import { Lock } from 'multiprocessing/distributed';
 * const lock = new Lock({ url: 'redis://127.0.0.1:6379', name: 'ledger' });
 * const token = await lock.acquireAsync();
 * try { await ledger.append(entry, token); } finally { await lock.releaseAsync(); }
 * ```
 */
export class Lock extends LeasedLock {
  /** @internal */
  static readonly kind = 'Lock';
  constructor(options: LeaseOptions) {
    super(options, false);
  }

  /** @internal A new owner id per hold, so that a stale release of an earlier hold never frees a later one. */
  protected nextOwner(): string {
    return randomUUID();
  }
}

registerNamed('Lock', (where, [lease]) => new Lock({ ...where, lease: lease as number }), import.meta.url);
