/**
 * The distributed `Semaphore` and `BoundedSemaphore`: a counter in Redis, plus a lease per unit taken.
 *
 * A hash `{ value, initial }` holds the count (`initial` is written by the first handle that uses it;
 * later handles' `value` argument does not change it). `acquire` is a Lua script: first return the
 * units of holders whose lease ran out (a sorted set of holders scored by lease end, on Redis's clock),
 * then take a unit if the count is above 0 and record this hold with its lease. `release` gives back
 * this handle's latest hold, or, for a handle that holds none (a semaphore used as a signal: released
 * here, acquired elsewhere), adds a unit. Each gives one wake token to the waiters
 * (`objects/waiting.ts`). A waiter sleeps no longer than the earliest lease, so a holder that died
 * returns its unit to the waiters when its lease ends.
 *
 * Holds are renewed as a lock's are (`lease.ts`); a hold found expired sets `lost`, and its release
 * throws `ERR_MP_LOCK_LOST` (its unit was already given back).
 */
import { randomUUID } from 'node:crypto';
import { misuse } from '../../errors.js';
import { acquireTimeout } from '../../sync/guard.js';
import { parseWait, type WaitArg } from '../../sync/wait-options.js';
import { callBlocking } from '../objects/blocking.js';
import { registerNamed, type NamedOptions } from '../objects/named.js';
import { Acquirable } from './acquirable.js';
import type { Script } from '../objects/redis.js';
import { NOW_MS_LUA, onWakeList, WAKE_ONE_LUA, waitFor } from '../objects/waiting.js';
import { checkLease, renewEvery } from './lease.js';

/** Options of a distributed `Semaphore`: where it lives, and the lease of each unit taken. */
export interface SemaphoreOptions extends NamedOptions {
  /** How long a unit outlives a holder that stopped renewing it, in ms (default 30 000). */
  readonly lease?: number;
}

// Returns the units of expired holds to the count. KEYS[1]: state hash, KEYS[2]: holders.
const COMMON_LUA = `${WAKE_ONE_LUA}${NOW_MS_LUA}-- The count starts at the value of the first handle that uses it; later handles' values change nothing.
local function start(initial)
  redis.call('HSETNX', KEYS[1], 'initial', initial)
  redis.call('HSETNX', KEYS[1], 'value', initial)
end
local function reclaim(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    redis.call('HINCRBY', KEYS[1], 'value', #expired)
  end
end
`;

// KEYS: state, holders, wake list. ARGV: holder id, initial value, lease ms.
// Returns 0 when taken, else the ms until the earliest lease ends (-1: no hold has a lease). A take
// that leaves units passes the wake-up on: two releases may have left a single token for two waiters.
const ACQUIRE: Script = {
  name: 'mpSemaphoreAcquire',
  keys: 3,
  lua: `${COMMON_LUA}
start(ARGV[2])
local now = nowMs()
reclaim(now)
if tonumber(redis.call('HGET', KEYS[1], 'value')) > 0 then
  if redis.call('HINCRBY', KEYS[1], 'value', -1) > 0 then wakeOne(KEYS[3]) end
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
  return 0
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 0 then return -1 end
return math.max(1, tonumber(first[2]) - now)
`,
};

// KEYS: state, holders, wake list. ARGV: holder id ('' for none), initial value, bounded (1/0).
// Returns 1 when released, -1 when the hold was lost (its unit was already given back), -2 when a
// bounded semaphore would go past its initial value.
const RELEASE: Script = {
  name: 'mpSemaphoreRelease',
  keys: 3,
  lua: `${COMMON_LUA}
start(ARGV[2])
reclaim(nowMs())
if ARGV[1] ~= '' then
  if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return -1 end
elseif ARGV[3] == '1' then
  local held = redis.call('ZCARD', KEYS[2])
  if tonumber(redis.call('HGET', KEYS[1], 'value')) + held >= tonumber(redis.call('HGET', KEYS[1], 'initial')) then return -2 end
end
redis.call('HINCRBY', KEYS[1], 'value', 1)
wakeOne(KEYS[3])
return 1
`,
};

// KEYS: state, holders. ARGV: lease ms, holder ids… Returns the ids whose hold is gone.
const RENEW: Script = {
  name: 'mpSemaphoreRenew',
  keys: 2,
  lua: `${COMMON_LUA}
local now = nowMs()
local gone = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[1]), ARGV[i])
  else
    table.insert(gone, ARGV[i])
  end
end
return gone
`,
};

// KEYS: state, holders. ARGV: initial value. Returns the count now.
const VALUE: Script = {
  name: 'mpSemaphoreValue',
  keys: 2,
  lua: `${COMMON_LUA}
start(ARGV[1])
reclaim(nowMs())
return tonumber(redis.call('HGET', KEYS[1], 'value'))
`,
};

/**
 * A counting semaphore shared by every process, on any machine, that names the same
 * `{ url, namespace, name }` (Python's `multiprocessing.Semaphore`). `value` is the initial count; the
 * first handle to use the semaphore sets it.
 *
 * Units taken with `acquire` are leases: one whose holder dies comes back when its lease ends. A
 * handle that releases without holding adds a unit (a semaphore used as a signal).
 *
 * @example
 * ```ts
 * import { Semaphore } from 'multiprocessing/distributed';
 * const downloads = new Semaphore({ url, name: 'downloads' }, 4);   // at most 4 at once, cluster-wide
 * await downloads.withLockAsync(() => fetchPage(url));
 * ```
 */
export class Semaphore extends Acquirable {
  /** @internal */
  static readonly kind: string = 'Semaphore';
  /** The initial count this handle was made with. */
  readonly initialValue: number;
  /** The lease of each unit taken, in ms. */
  readonly lease: number;
  /** True once a hold of this handle was found expired (its unit went back to the others). */
  lost = false;
  readonly #held: string[] = [];
  readonly #lostHolds = new Set<string>();
  #stopRenewal: (() => void) | undefined;

  constructor(options: SemaphoreOptions, value = 1) {
    super(options);
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw misuse(RangeError, 'ERR_MP_SEMAPHORE_VALUE', `semaphore initial value must be an integer from 0 to 2**31 - 1, not ${String(value)}`);
    }
    this.initialValue = value;
    this.lease = checkLease(options.lease);
  }

  /** @internal Whether a release past the initial value throws (`BoundedSemaphore`). */
  protected get bounded(): boolean {
    return false;
  }

  /**
   * Takes a unit, blocking this thread; returns whether it got one in time. `blocking = false` tries
   * once; `timeout` in ms (`undefined`: forever).
   */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    const holder = randomUUID();
    return this.#took(holder, callBlocking<boolean>(this, 'takeUnit', [holder, acquireTimeout(blocking, timeout)]));
  }

  /**
   * Takes a unit without blocking the event loop; resolves to whether it got one in time. Takes a
   * timeout in ms or `{ timeout?, signal? }`.
   */
  async acquireAsync(timeout?: WaitArg): Promise<boolean> {
    const wait = parseWait(timeout);
    const holder = randomUUID();
    return this.#took(holder, await this.#take(holder, wait.timeout, wait.signal));
  }

  /** Gives back this handle's latest unit, or adds one (blocking this thread for the round trip). */
  release(): void {
    const holder = this.#held.at(-1) ?? '';
    this.#released(holder, callBlocking<number>(this, 'giveUnit', [holder]));
  }

  /** `release` without blocking the event loop. */
  async releaseAsync(): Promise<void> {
    const holder = this.#held.at(-1) ?? '';
    this.#released(holder, await this.giveUnit(holder));
  }

  /** The count now (a round trip, blocking this thread). */
  getValue(): number {
    return callBlocking<number>(this, 'getValueAsync', []);
  }

  /** The count now. */
  async getValueAsync(): Promise<number> {
    return this.link.script<number>(VALUE, [this.key(), this.key('holders')], [this.initialValue]);
  }

  /** @internal Takes a unit for `holder`; the helper thread runs it for `acquire()`. */
  async takeUnit(holder: string, timeout: number): Promise<boolean> {
    return this.#take(holder, timeout, undefined);
  }

  /** @internal Gives back `holder`'s unit ('' for none): 1, -1 (lost) or -2 (past the bound). */
  async giveUnit(holder: string): Promise<number> {
    return this.link.script<number>(RELEASE, [this.key(), this.key('holders'), this.key('wake')], [holder, this.initialValue, this.bounded ? 1 : 0]);
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.initialValue, this.lease];
  }

  async #take(holder: string, timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    const keys = [this.key(), this.key('holders'), this.key('wake')];
    const taken = await waitFor(
      { timeout, signal },
      async () => {
        const wait = await this.link.script<number>(ACQUIRE, keys, [holder, this.initialValue, this.lease]);
        return wait === 0 ? { value: true } : { retryIn: wait < 0 ? Infinity : wait };
      },
      onWakeList(this.target, this.key('wake')),
    );
    return taken === true;
  }

  #took(holder: string, taken: boolean): boolean {
    if (!taken) return false;
    this.#held.push(holder);
    this.#stopRenewal ??= renewEvery(this, this.lease, () => this.#renew(), () => ({ method: 'renewHolds', args: [[...this.#held]] }));
    return true;
  }

  /** @internal Extends the leases of `holders`; returns those that are gone. */
  async renewHolds(holders: readonly string[]): Promise<string[]> {
    return holders.length === 0 ? [] : this.link.script<string[]>(RENEW, [this.key(), this.key('holders')], [this.lease, ...holders], false);
  }

  async #renew(): Promise<void> {
    const gone = await this.renewHolds(this.#held.filter((holder) => !this.#lostHolds.has(holder)));
    for (const holder of gone) {
      this.#lostHolds.add(holder);
      this.lost = true;
    }
  }

  #released(holder: string, outcome: number): void {
    if (holder !== '') {
      this.#held.pop();
      this.#lostHolds.delete(holder);
      if (this.#held.length === 0) {
        this.#stopRenewal?.();
        this.#stopRenewal = undefined;
      }
    }
    if (outcome === -2) {
      throw misuse(
        Error,
        'ERR_MP_SEMAPHORE_OVER_RELEASED',
        `semaphore or lock released too many times (the BoundedSemaphore '${this.name}' is back at its initial value ${this.initialValue})`,
      );
    }
    if (outcome === -1) {
      this.lost = true;
      throw misuse(
        Error,
        'ERR_MP_LOCK_LOST',
        `a unit of the Semaphore '${this.name}' was lost before release(): its lease (${this.lease} ms) ran out or Redis forgot it, ` +
          `and it was already given back to the others`,
      );
    }
  }
}

/**
 * A `Semaphore` whose count may not go past its initial value: a release without a matching acquire
 * throws (Python's `BoundedSemaphore`).
 *
 * @example `const pool = new BoundedSemaphore({ url, name: 'connections' }, 10);`
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */
  static override readonly kind: string = 'BoundedSemaphore';

  /** @internal */
  protected override get bounded(): boolean {
    return true;
  }
}

registerNamed('Semaphore', (where, [value, lease]) => new Semaphore({ ...where, lease: lease as number }, value as number), import.meta.url);
registerNamed('BoundedSemaphore', (where, [value, lease]) => new BoundedSemaphore({ ...where, lease: lease as number }, value as number), import.meta.url);
