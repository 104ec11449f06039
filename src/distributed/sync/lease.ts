/**
 * What the distributed `Lock` and `RLock` share: a lock on Redis held as a **lease**, with a fencing
 * token.
 *
 * The lock is a hash `{ owner, count, fence }` that expires after the lease (`PEXPIRE`). Taking it is a
 * Lua script that writes the hash only if it is absent (or, for an `RLock`, ours: then `count` goes up);
 * releasing checks the owner, deletes the hash and leaves a wake token (`objects/waiting.ts`). While it
 * is held, this handle renews the lease every third of it, by a script that extends it only if the
 * owner is still us: on a timer of its thread, and while that thread is blocked in a blocking form of
 * these objects, from its helper thread (`objects/blocking.ts`). A holder that dies stops renewing, and
 * the lock frees itself when the lease ends; its waiters sleep no longer than that lease.
 *
 * **Lost locks.** Renewal finding another owner or none (the lease ran out during a long pause, or
 * Redis restarted without persistence and forgot it) sets `lost`, and the next `release()` throws
 * `ERR_MP_LOCK_LOST`: a lost lock is reported, never released silently as if it had been held
 * throughout. Between the loss and its discovery another process may hold the lock too; only the
 * resource can refuse the stale holder, which is what the fencing token is for.
 *
 * **Fencing token.** Each successful first acquire gets a number from a counter kept beside the lock,
 * larger than every earlier one: a resource that remembers the largest token it has seen refuses
 * writes carrying a smaller one (M. Kleppmann, "How to do distributed locking", 2016). The counter
 * starts at Redis's clock in microseconds, so that after a restart that lost it the tokens still grow.
 */
import { misuse } from '../../errors.js';
import { limitTimeout } from '../../timeout.js';
import { parseWait, type Wait, type WaitArg } from '../../sync/wait-options.js';
import { acquireTimeout } from '../../sync/guard.js';
import { callBlocking, renewWhileBlocked } from '../objects/blocking.js';
import type { NamedOptions } from '../objects/named.js';
import type { Shareable } from '../../transport/shareable.js';
import { Acquirable } from './acquirable.js';
import type { Script } from '../objects/redis.js';
import { onWakeList, WAKE_ONE_LUA, waitFor } from '../objects/waiting.js';

/** Options of a distributed `Lock` or `RLock`: where it lives, and its lease. */
export interface LeaseOptions extends NamedOptions {
  /**
   * How long the lock outlives a holder that stopped renewing it, in ms (default 30 000): a holder
   * that died, or whose thread ran synchronous code for longer than this (a thread blocked in a
   * blocking form of these objects keeps renewing). The holder renews it every third of it.
   */
  readonly lease?: number;
}

const DEFAULT_LEASE = 30_000;

// KEYS: lock hash, fence counter. ARGV: owner, lease ms, reentrant (1/0).
// Returns the fence (> 0) when taken, else -1 - the holder's remaining lease in ms.
const ACQUIRE: Script = {
  name: 'mpLeaseAcquire',
  keys: 2,
  lua: `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == false then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', KEYS[2], now[1] .. string.format('%06d', tonumber(now[2])))
  end
  local fence = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'count', 1, 'fence', fence)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return fence
end
if owner == ARGV[1] and ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[1], 'count', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'fence'))
end
return -1 - redis.call('PTTL', KEYS[1])
`,
};

// KEYS: lock hash, wake list. ARGV: owner. Returns the count left (0: released), or -1: not ours.
const RELEASE: Script = {
  name: 'mpLeaseRelease',
  keys: 2,
  lua: `${WAKE_ONE_LUA}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
local count = redis.call('HINCRBY', KEYS[1], 'count', -1)
if count > 0 then return count end
redis.call('DEL', KEYS[1])
wakeOne(KEYS[2])
return 0
`,
};

// KEYS: lock hash. ARGV: owner, lease ms. Returns 1 if extended, 0 if the lock is not ours any more.
const RENEW: Script = {
  name: 'mpLeaseRenew',
  keys: 1,
  lua: `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
};

/** @internal The lease-holding machinery of `Lock` and `RLock`. */
export abstract class LeasedLock extends Acquirable {
  /**
   * The fencing token of the current hold: larger than every token handed out before it for this lock.
   * Pass it to the resource the lock protects, which should refuse a smaller one. `undefined` while
   * this handle does not hold the lock.
   */
  fencingToken: number | undefined;
  /**
   * True once this handle found that a lock it held was lost (its lease ran out, or Redis forgot it):
   * someone else may hold it now. Reset by the next acquire.
   */
  lost = false;
  /** The lease in ms (the `lease` option). */
  readonly lease: number;
  #owner: string | undefined;
  #stopRenewal: (() => void) | undefined;

  protected constructor(options: LeaseOptions, private readonly reentrant: boolean) {
    super(options);
    this.lease = checkLease(options.lease);
  }

  /** @internal The owner id of the next acquire (a lock: one per hold; an rlock: one per handle). */
  protected abstract nextOwner(held: string | undefined): string;

  /**
   * Takes the lock, blocking this thread (through a helper thread: see the module notes of
   * `objects/blocking.ts`). Returns the fencing token, or `false` if it was not free in time.
   * `blocking = false` tries once. `timeout` in ms (`undefined`: forever).
   */
  acquire(blocking: boolean = true, timeout?: number): number | false {
    const ms = acquireTimeout(blocking, timeout);
    const owner = this.nextOwner(this.#owner);
    return this.#took(owner, callBlocking<number | false>(this, 'takeLease', [owner, ms]));
  }

  /**
   * Takes the lock without blocking the event loop. Resolves to the fencing token, or `false` if it was
   * not free in time. Takes a timeout in ms or `{ timeout?, signal? }`.
   *
   * @example
   * ```ts
   * const token = await lock.acquireAsync(5000);
   * if (token !== false) try { await store.write(data, token); } finally { await lock.releaseAsync(); }
   * ```
   */
  async acquireAsync(timeout?: WaitArg): Promise<number | false> {
    const wait = parseWait(timeout);
    const owner = this.nextOwner(this.#owner);
    return this.#took(owner, await this.#take(owner, wait));
  }

  /** Releases the lock, blocking this thread. Throws `ERR_MP_LOCK_LOST` if it was lost meanwhile. */
  release(): void {
    const owner = this.#ownerToRelease();
    this.#released(callBlocking<number>(this, 'dropLease', [owner]));
  }

  /** Releases the lock. Rejects with `ERR_MP_LOCK_LOST` if it was lost meanwhile. */
  async releaseAsync(): Promise<void> {
    const owner = this.#ownerToRelease();
    this.#released(await this.dropLease(owner));
  }

  /** Whether some process holds the lock now (blocking this thread for the round trip). */
  locked(): boolean {
    return callBlocking<boolean>(this, 'lockedAsync', []);
  }

  /** Whether some process holds the lock now. */
  async lockedAsync(): Promise<boolean> {
    return (await this.link.run((redis) => redis.exists(this.key()))) === 1;
  }

  /** @internal Takes the lease for `owner`; the helper thread runs it for `acquire()`. */
  async takeLease(owner: string, timeout: number): Promise<number | false> {
    return this.#take(owner, { timeout, signal: undefined });
  }

  /** @internal Releases `owner`'s hold: the count left, or -1 if the lock is not `owner`'s. */
  async dropLease(owner: string): Promise<number> {
    return this.link.script<number>(RELEASE, [this.key(), this.key('wake')], [owner]);
  }

  async #take(owner: string, wait: Wait): Promise<number | false> {
    const taken = await waitFor(
      wait,
      async () => {
        const fence = await this.link.script<number>(ACQUIRE, [this.key(), this.key('fence')], [owner, this.lease, this.reentrant ? 1 : 0]);
        return fence > 0 ? { value: fence } : { retryIn: -1 - fence };
      },
      onWakeList(this.target, this.key('wake')),
    );
    return taken ?? false;
  }

  #took(owner: string, fence: number | false): number | false {
    if (fence === false) return false;
    if (this.#owner !== owner) {
      this.#owner = owner;
      this.lost = false;
      this.fencingToken = fence;
      this.#stopRenewal = renewEvery(this, this.lease, () => this.#renew(owner), () => ({ method: 'renewLease', args: [owner] }));
    }
    return fence;
  }

  /** @internal Extends `owner`'s lease if the lock is still `owner`'s; returns whether it was. */
  async renewLease(owner: string): Promise<boolean> {
    return (await this.link.script<number>(RENEW, [this.key()], [owner, this.lease], false)) === 1;
  }

  async #renew(owner: string): Promise<void> {
    if (!(await this.renewLease(owner)) && this.#owner === owner) {
      this.lost = true;
      this.#stopRenewing();
    }
  }

  #ownerToRelease(): string {
    if (this.#owner === undefined) throw notHeld(this.kind);
    return this.#owner;
  }

  #released(left: number): void {
    if (left > 0) return;
    const lost = left < 0;
    this.#owner = undefined;
    this.fencingToken = undefined;
    this.#stopRenewing();
    if (lost) {
      this.lost = true;
      throw misuse(
        Error,
        'ERR_MP_LOCK_LOST',
        `the ${this.kind} '${this.name}' was lost before release(): its lease ran out (a holder blocked for ` +
          `longer than lease = ${this.lease} ms?) or Redis forgot it (restarted without persistence). Another process may ` +
          `have held it meanwhile: check the fencing token where it matters`,
      );
    }
  }

  #stopRenewing(): void {
    this.#stopRenewal?.();
    this.#stopRenewal = undefined;
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.lease];
  }
}

/**
 * @internal Keeps the leases `holder` holds alive, every third of `lease`, until the returned function
 * is called: `renew` runs on a timer of this thread that does not keep the program alive, and while
 * this thread is blocked in a blocking form, the helper thread calls the method of `holder` that
 * `whileBlocked()` names (asked at each blocking call, so it names the holds of that moment). A
 * renewal that fails (Redis unreachable for now) is tried again at the next tick; if the lease ran out
 * meanwhile, that one finds it gone.
 */
export function renewEvery(
  holder: Shareable,
  lease: number,
  renew: () => Promise<void>,
  whileBlocked: () => { readonly method: string; readonly args: readonly unknown[] },
): () => void {
  const timer = setInterval(() => void renew().catch(() => {}), lease / 3);
  timer.unref();
  renewWhileBlocked(holder, () => ({ target: holder, ...whileBlocked(), every: lease / 3 }));
  return () => {
    clearInterval(timer);
    renewWhileBlocked(holder, undefined);
  };
}

/** @internal The lease option checked: a finite number of ms, at least 10 (default 30 s). */
export function checkLease(lease: unknown): number {
  const ms = limitTimeout(lease ?? DEFAULT_LEASE, 'lease');
  if (ms < 10 || ms === Infinity) {
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `lease must be a finite number of ms, at least 10, not ${ms}`);
  }
  return ms;
}

function notHeld(kind: string): Error {
  return misuse(
    Error,
    'ERR_MP_LOCK_NOT_HELD',
    `release() was called on a distributed ${kind} that this handle does not hold: release it through the handle that acquired it`,
  );
}
