/**
 * The distributed `Barrier`: a hash `{ parties, count, gen, broken, brokenGen }` in Redis.
 *
 * Arriving is a script: refuse if broken, else count the arrival; the last of `parties` returns
 * "last" with its generation. That arrival runs the action (its own handle's: a function does not
 * cross machines) and then ends the generation (`gen + 1`, `count = 0`) and publishes on the barrier's
 * channel; a failing action breaks the barrier instead. The others wait for their generation to end
 * (`objects/waiting.ts`): a later `gen` means passed, unless `brokenGen` names theirs (a `reset()`
 * while they waited); `broken` set while `gen` is still theirs means broken. A wait that times out
 * breaks the barrier, as in Python.
 *
 * `parties` is written by the first handle that arrives; later handles' argument does not change it.
 */
import { BrokenBarrierError, misuse } from '../../errors.js';
import { waitTimeout } from '../../timeout.js';
import { parseWait, type Wait, type WaitArg } from '../../sync/wait-options.js';
import { callBlocking } from '../objects/blocking.js';
import { Named, registerNamed, type NamedOptions } from '../objects/named.js';
import type { Script } from '../objects/redis.js';
import { waitFor, withChannel } from '../objects/waiting.js';

/** Options of the distributed `Barrier`. */
export interface BarrierOptions {
  /**
   * Called by the last process to arrive, before any is released, if it arrived through this handle
   * (an action does not cross machines: each handle has its own, or none).
   */
  readonly action?: () => unknown;
  /** Default timeout (ms) of `wait()` when it is given none. */
  readonly timeout?: number;
}

// KEYS: state. ARGV: parties. Returns { index, gen, last (1/0) }, or { -1 } when broken.
const ARRIVE: Script = {
  name: 'mpBarrierArrive',
  keys: 1,
  lua: `
redis.call('HSETNX', KEYS[1], 'parties', ARGV[1])
if redis.call('HGET', KEYS[1], 'broken') == '1' then return { -1 } end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local last = 0
if count >= tonumber(redis.call('HGET', KEYS[1], 'parties')) then last = 1 end
return { count - 1, gen, last }
`,
};

// KEYS: state, channel. ARGV: gen. Ends generation `gen` as passed.
const PASS: Script = {
  name: 'mpBarrierPass',
  keys: 2,
  lua: `
if tonumber(redis.call('HGET', KEYS[1], 'gen') or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'count', 0, 'gen', tonumber(ARGV[1]) + 1)
redis.call('PUBLISH', KEYS[2], 1)
return 1
`,
};

// KEYS: state. ARGV: gen. Returns 1 passed, -1 broken, 0 still waiting.
const STATUS: Script = {
  name: 'mpBarrierStatus',
  keys: 1,
  lua: `
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen ~= tonumber(ARGV[1]) then
  if redis.call('HGET', KEYS[1], 'brokenGen') == ARGV[1] then return -1 end
  return 1
end
if redis.call('HGET', KEYS[1], 'broken') == '1' then return -1 end
return 0
`,
};

// KEYS: state, channel.
const ABORT: Script = {
  name: 'mpBarrierAbort',
  keys: 2,
  lua: `
redis.call('HSET', KEYS[1], 'broken', 1)
redis.call('PUBLISH', KEYS[2], 1)
return 1
`,
};

// KEYS: state, channel. Breaks the waiters of the current generation and starts a fresh one.
const RESET: Script = {
  name: 'mpBarrierReset',
  keys: 2,
  lua: `
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if tonumber(redis.call('HGET', KEYS[1], 'count') or '0') > 0 then redis.call('HSET', KEYS[1], 'brokenGen', gen) end
redis.call('HSET', KEYS[1], 'count', 0, 'gen', gen + 1, 'broken', 0)
redis.call('PUBLISH', KEYS[2], 1)
return 1
`,
};

/** @internal What an arrival learned. */
export type Arrival = { readonly broken: true } | { readonly broken: false; readonly index: number; readonly gen: number; readonly last: boolean };

/**
 * A barrier for `parties` processes, on any machines, that name the same `{ url, namespace, name }`
 * (Python's `multiprocessing.Barrier`): each `wait()` returns once all have arrived, with its arrival
 * index (0 … parties − 1). Reusable: the next `parties` arrivals form the next generation.
 *
 * @example
 * ```ts
 * import { Barrier } from 'multiprocessing/distributed';
 * const step = new Barrier({ url, name: 'epoch' }, 4, { timeout: 60_000 });
 * for (let epoch = 0; epoch < 10; epoch++) { await train(epoch); await step.waitAsync(); }
 * ```
 */
export class Barrier extends Named {
  /** @internal */
  static readonly kind = 'Barrier';
  /** The number of processes that must arrive (as given to this handle). */
  readonly parties: number;
  readonly #action: (() => unknown) | undefined;
  readonly #timeout: number | undefined;

  constructor(options: NamedOptions, parties: number, barrierOptions: BarrierOptions = {}) {
    super(options);
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw misuse(RangeError, 'ERR_MP_BARRIER_PARTIES', `parties must be an integer > 0, not ${String(parties)}`);
    }
    const { action, timeout } = barrierOptions;
    if (action !== undefined && typeof action !== 'function') {
      throw misuse(TypeError, 'ERR_MP_BARRIER_ACTION', 'Barrier action must be a function');
    }
    if (timeout !== undefined) waitTimeout(timeout);
    this.parties = parties;
    this.#action = action;
    this.#timeout = timeout;
  }

  /**
   * Waits, blocking this thread, until `parties` processes have arrived; returns this arrival's index.
   * Throws `BrokenBarrierError` if the barrier is or gets broken (a timeout breaks it).
   */
  wait(timeout?: number): number {
    const limit = timeout ?? this.#timeout ?? null;
    const arrival = callBlocking<Arrival>(this, 'arrive', []);
    if (arrival.broken) throw broken();
    if (arrival.last) {
      this.#runAction(() => callBlocking<void>(this, 'abortAsync', []));
      callBlocking<void>(this, 'passGeneration', [arrival.gen]);
      return arrival.index;
    }
    if (!callBlocking<boolean>(this, 'generationEnd', [arrival.gen, limit])) throw broken();
    return arrival.index;
  }

  /**
   * `wait` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`; a timeout
   * or an abort breaks the barrier, as a blocking wait's timeout does.
   */
  async waitAsync(timeout?: WaitArg): Promise<number> {
    const wait = parseWait(timeout ?? this.#timeout);
    const arrival = await this.arrive();
    if (arrival.broken) throw broken();
    if (arrival.last) {
      await this.#runActionAsync();
      await this.passGeneration(arrival.gen);
      return arrival.index;
    }
    let passed: boolean;
    try {
      passed = await this.#generationEnd(arrival.gen, wait);
    } catch (reason) {
      await this.abortAsync();
      throw reason;
    }
    if (!passed) throw broken();
    return arrival.index;
  }

  /** How many are waiting now (a round trip, blocking this thread). */
  get nWaiting(): number {
    return callBlocking<number>(this, 'nWaitingAsync', []);
  }

  /** How many are waiting now. */
  async nWaitingAsync(): Promise<number> {
    return Number((await this.link.run((redis) => redis.hget(this.key(), 'count'))) ?? 0);
  }

  /** Whether the barrier is broken (a round trip, blocking this thread). */
  get broken(): boolean {
    return callBlocking<boolean>(this, 'brokenAsync', []);
  }

  /** Whether the barrier is broken. */
  async brokenAsync(): Promise<boolean> {
    return (await this.link.run((redis) => redis.hget(this.key(), 'broken'))) === '1';
  }

  /** Breaks the barrier: waiting and future `wait()` calls throw `BrokenBarrierError` until `reset()`. */
  abort(): void {
    callBlocking<void>(this, 'abortAsync', []);
  }

  /** `abort` without blocking the event loop. */
  async abortAsync(): Promise<void> {
    await this.link.script(ABORT, [this.key(), this.key('moved')], []);
  }

  /** Returns the barrier to its fresh state; processes waiting on it throw `BrokenBarrierError`. */
  reset(): void {
    callBlocking<void>(this, 'resetAsync', []);
  }

  /** `reset` without blocking the event loop. */
  async resetAsync(): Promise<void> {
    await this.link.script(RESET, [this.key(), this.key('moved')], []);
  }

  /** @internal Counts this arrival. */
  async arrive(): Promise<Arrival> {
    const [index, gen, last] = await this.link.script<number[]>(ARRIVE, [this.key()], [this.parties]);
    return index! < 0 ? { broken: true } : { broken: false, index: index!, gen: gen!, last: last === 1 };
  }

  /** @internal Ends generation `gen` as passed (by its last arrival, after the action). */
  async passGeneration(gen: number): Promise<void> {
    await this.link.script(PASS, [this.key(), this.key('moved')], [gen]);
  }

  /** @internal Waits for generation `gen` to end: true passed, false broken; a timeout breaks it. */
  async generationEnd(gen: number, timeout: number | null): Promise<boolean> {
    return this.#generationEnd(gen, parseWait(timeout));
  }

  async #generationEnd(gen: number, wait: Wait): Promise<boolean> {
    const outcome = await withChannel(this.target, this.key('moved'), wait, (sleep) =>
      waitFor(
        wait,
        async () => {
          const status = await this.link.script<number>(STATUS, [this.key()], [gen]);
          return status === 0 ? { retryIn: Infinity } : { value: status === 1 };
        },
        sleep,
      ),
    );
    if (outcome !== undefined) return outcome;
    await this.abortAsync();
    return false;
  }

  #runAction(abort: () => void): void {
    try {
      this.#action?.();
    } catch (error) {
      abort();
      throw error;
    }
  }

  async #runActionAsync(): Promise<void> {
    try {
      await this.#action?.();
    } catch (error) {
      await this.abortAsync();
      throw error;
    }
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.parties, this.#timeout];
  }
}

function broken(): BrokenBarrierError {
  return new BrokenBarrierError('the barrier is broken (aborted, reset, timed out, or its action failed)');
}

registerNamed('Barrier', (where, [parties, timeout]) => new Barrier(where, parties as number, { timeout: timeout as number | undefined }), import.meta.url);
