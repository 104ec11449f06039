/**
 * The distributed `JoinableQueue`: a `Queue` that counts unfinished items, and whose items survive
 * a consumer that dies before its `taskDone`.
 *
 * Counting: each put adds one to an `unfinished` counter in the same script as the `RPUSH`; `taskDone`
 * takes one off and, at zero, publishes on the queue's "joined" channel, on which `join` sleeps
 * (`objects/waiting.ts`).
 *
 * **Delivery: at least once, where the local queue loses the item.** A get does not pop the item: it
 * moves it (`LMOVE`, or `BLMOVE` while the queue is empty) into an in-flight list of its handle, in
 * the same step as it renews the handle's lease in a sorted set of consumers (scored by lease end, on
 * Redis's clock). The handle renews that lease while it holds items or waits in a get (`renewEvery`:
 * from its thread, and from the helper thread while the thread is blocked in a blocking form), and
 * `taskDone` removes the oldest item of its list. A consumer that dies stops renewing; when its lease
 * ends, the next get anywhere, or a `join` waiting anywhere, hands its items back to the front of the
 * queue, in their order, and they are got again, so `join` returns once they are done. (A waiting get
 * or join sleeps no longer than the earliest lease of another consumer.) The cost: still one script
 * per get and one per `taskDone`, and one renewal per handle every third of the lease while it holds
 * or waits: 10,000 puts, then gets and taskDones by two consumers on loopback, went from about 5,600
 * to about 5,100 items/s here (Queue, which pops, is unchanged). The in-flight items do not count in
 * `qsize()`.
 *
 * What it does not promise:
 * - An item may be got twice: its consumer was cut off from Redis (or its thread ran synchronous code)
 *   for longer than the lease, and its items went back. Make the work idempotent. Such a handle sets
 *   `lost`, and its `taskDone` for a handed-back item does not count (the copy that went back counts
 *   when its consumer calls `taskDone`), so `join` stays exact.
 * - Call `taskDone` on the handle that got the item: the handle's list is how Redis knows what it
 *   holds (a `taskDone` on a handle that got nothing only counts, as Python's does).
 * - An abort or a connection error that takes back a `BLMOVE` just as Redis answered it leaves the item
 *   in the handle's list: the handle hands back what it does not hold right then.
 * - Redis restarted without persistence: items, lists and counts are gone (as for every object).
 *
 * The scripts read the in-flight lists of other consumers by name, under the namespace's hash tag (one
 * slot on a Redis Cluster, where this is allowed but not declared to the cluster, as BullMQ does).
 */
import { randomUUID } from 'node:crypto';
import { Empty, misuse } from '../../errors.js';
import { deadlineAfter, remaining } from '../../runtime/futex.js';
import { parseWait, type Wait, type WaitArg } from '../../sync/wait-options.js';
import { callBlocking } from '../objects/blocking.js';
import { registerNamed, type NamedOptions } from '../objects/named.js';
import { blockSeconds, withBlockingLink, type Script } from '../objects/redis.js';
import { NOW_MS_LUA, WAKE_ONE_LUA, waitFor, withChannel } from '../objects/waiting.js';
import { checkLease, renewEvery } from '../sync/lease.js';
import { Queue } from './queue.js';

/** Options of a distributed `JoinableQueue`: where it lives, and the lease of a consumer's items. */
export interface JoinableQueueOptions extends NamedOptions {
  /**
   * How long the items a consumer got stay its own after it stopped renewing them (it died, or was cut
   * off from Redis), in ms (default 30 000); then they go back to the front of the queue.
   */
  readonly lease?: number;
}

// KEYS[1]: items, KEYS[2]: consumers (id → lease end). ARGV[1]: the in-flight lists' key prefix.
const CONSUMERS_LUA = `${NOW_MS_LUA}
local function reclaim(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, id in ipairs(dead) do
    local list = ARGV[1] .. id
    while redis.call('LMOVE', list, KEYS[1], 'RIGHT', 'LEFT') do end
    redis.call('ZREM', KEYS[2], id)
  end
end
-- The ms until the earliest lease of a consumer other than 'me' ends (0: there is none).
local function nextEnd(now, me)
  local first = redis.call('ZRANGE', KEYS[2], 0, 1, 'WITHSCORES')
  for i = 1, #first, 2 do
    if first[i] ~= me then return math.max(1, tonumber(first[i + 1]) - now) end
  end
  return 0
end
`;

// KEYS: items, consumers, room, shut flag, my in-flight list. ARGV: prefix, my id, lease ms, maxsize.
// Returns the item, -1 when shut down and drained, else nextEnd (0 or the ms to sleep at most).
const TAKE: Script = {
  name: 'mpJoinableTake',
  keys: 5,
  lua: `${WAKE_ONE_LUA}${CONSUMERS_LUA}
local now = nowMs()
reclaim(now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
local item = redis.call('LMOVE', KEYS[1], KEYS[5], 'LEFT', 'RIGHT')
if item then
  if tonumber(ARGV[4]) > 0 then wakeOne(KEYS[3]) end
  return item
end
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
return nextEnd(now, ARGV[2])
`,
};

// KEYS: items, consumers, unfinished. ARGV: prefix. Returns -1 when nothing is unfinished, else nextEnd.
const JOIN: Script = {
  name: 'mpJoinableJoin',
  keys: 3,
  lua: `${CONSUMERS_LUA}
local now = nowMs()
reclaim(now)
if tonumber(redis.call('GET', KEYS[3]) or '0') <= 0 then return -1 end
return nextEnd(now, '')
`,
};

// KEYS: consumers. ARGV: id, lease ms. Returns 1 if the lease had ended (its items were handed back).
const RENEW: Script = {
  name: 'mpJoinableRenew',
  keys: 1,
  lua: `${NOW_MS_LUA}
return redis.call('ZADD', KEYS[1], nowMs() + tonumber(ARGV[2]), ARGV[1])
`,
};

// KEYS: my in-flight list, items. ARGV: how many items the handle holds. Hands back the newest others.
const HAND_BACK: Script = {
  name: 'mpJoinableHandBack',
  keys: 2,
  lua: `
while redis.call('LLEN', KEYS[1]) > tonumber(ARGV[1]) do redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') end
return 1
`,
};

// KEYS: unfinished, joined channel, my in-flight list. ARGV: whether the handle holds an item (1/0).
// Returns what is left, -1 when nothing was unfinished, -2 when the held item had been handed back.
const TASK_DONE: Script = {
  name: 'mpJoinableTaskDone',
  keys: 3,
  lua: `
if ARGV[1] == '1' and not redis.call('LPOP', KEYS[3]) then return -2 end
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return -1 end
left = redis.call('DECR', KEYS[1])
if left == 0 then redis.call('PUBLISH', KEYS[2], 0) end
return left
`,
};

/** What a `BLMOVE` taken back by a shutdown announcement rejects with. */
const SHUTDOWN_ANNOUNCED = Symbol('shutdown announced');

/**
 * A `Queue` whose consumers mark each item done (`taskDone`), so a producer can wait until all of
 * them are (`join`): Python's `JoinableQueue`, across machines. Items a consumer got and did not mark
 * done go back to the queue when that consumer dies (see the module notes: at least once).
 *
 * @example
 * ```ts
 * const q = new JoinableQueue<string>({ url, name: 'crawl' });
 * await q.putAsync('https://example.com');
 * // consumers, anywhere: const page = await q.getAsync(); … ; await q.taskDoneAsync();
 * await q.joinAsync({ timeout: 60_000 });
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /** @internal */
  static override readonly kind = 'JoinableQueue';
  /** How long this handle's items outlive it once it stops renewing them, in ms (the `lease` option). */
  readonly lease: number;
  /**
   * True once this handle found that items it held were handed back to the queue (its lease ran out
   * while it was cut off from Redis or blocked): someone else may get them again.
   */
  lost = false;
  readonly #consumer = randomUUID();
  #held = 0;
  #getting = 0;
  #stopRenewal: (() => void) | undefined;

  constructor(options: JoinableQueueOptions, maxsize = 0) {
    super(options, maxsize);
    this.lease = checkLease(options.lease);
  }

  /** @internal */
  protected override get joinable(): boolean {
    return true;
  }

  /**
   * Marks the oldest item this handle got as finished (blocking this thread for the round trip).
   * Called more times than items were put, it throws (Python: `task_done() called too many times`).
   */
  taskDone(): void {
    const holds = this.#held > 0;
    this.#finished(holds, callBlocking<number>(this, 'finishItem', [this.#consumer, holds]));
  }

  /** `taskDone` without blocking the event loop. */
  async taskDoneAsync(): Promise<void> {
    const holds = this.#held > 0;
    this.#finished(holds, await this.finishItem(this.#consumer, holds));
  }

  /**
   * Blocks this thread until every item ever put has been marked done (or dropped by
   * `shutdown(true)`). With a `timeout` (ms), returns false if that did not happen in time.
   */
  join(timeout?: number): boolean {
    return callBlocking<boolean>(this, 'joinAsync', [timeout ?? null]);
  }

  /**
   * `join` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`.
   *
   * @example `const done = await q.joinAsync({ timeout: 10_000, signal: controller.signal });`
   */
  async joinAsync(timeout?: WaitArg): Promise<boolean> {
    return this.#join(parseWait(timeout));
  }

  /** @internal Takes an item into `consumer`'s list; the helper thread runs it for `get()`. */
  async takeItem(consumer: string, held: number, timeout: number | null): Promise<Uint8Array> {
    return this.#takeFor(consumer, held, parseWait(timeout));
  }

  /** @internal `taskDone` of `consumer` (`holds`: it holds an item): what is left, -1 or -2. */
  async finishItem(consumer: string, holds: boolean): Promise<number> {
    return this.link.script<number>(TASK_DONE, [this.key('unfinished'), this.key('joined'), this.#inFlight(consumer)], [holds ? 1 : 0]);
  }

  /** @internal Extends `consumer`'s lease; returns 1 if it had ended (its items were handed back). */
  async renewConsumer(consumer: string): Promise<number> {
    return this.link.script<number>(RENEW, [this.key('consumers')], [consumer, this.lease], false);
  }

  /** @internal */
  protected override args(): readonly unknown[] {
    return [this.maxsize, this.lease];
  }

  /** @internal */
  protected override takeBlocking(timeout: number | null): Uint8Array {
    this.#begin();
    try {
      const bytes = callBlocking<Uint8Array>(this, 'takeItem', [this.#consumer, this.#held, timeout]);
      this.#held += 1;
      return bytes;
    } finally {
      this.#end();
    }
  }

  /** @internal */
  protected override async take(wait: Wait): Promise<Buffer> {
    this.#begin();
    try {
      const bytes = await this.#takeFor(this.#consumer, this.#held, wait);
      this.#held += 1;
      return bytes;
    } finally {
      this.#end();
    }
  }

  #inFlight(consumer: string): string {
    return `${this.key('inflight')}:${consumer}`;
  }

  async #try(consumer: string): Promise<Buffer | number> {
    const keys = [this.key(), this.key('consumers'), this.key('room'), this.key('shut'), this.#inFlight(consumer)];
    const outcome = await this.link.script<Buffer | number>(TAKE, keys, [`${this.key('inflight')}:`, consumer, this.lease, this.maxsize], true, true);
    if (outcome === -1) throw this.shutDownError();
    return outcome;
  }

  async #takeFor(consumer: string, held: number, wait: Wait): Promise<Buffer> {
    wait.signal?.throwIfAborted();
    const first = await this.#try(consumer);
    if (Buffer.isBuffer(first)) return first;
    if (wait.timeout === 0) throw new Empty(`the Queue '${this.name}' is empty`);
    const deadline = deadlineAfter(wait.timeout);
    // Listening for the shutdown announcement before trying again, so none falls between the try and
    // the BLMOVE (which a shutdown does not wake: it pushes no item).
    return withChannel(this.target, this.key('shutdown'), wait, async (announced) => {
      for (;;) {
        const step = await this.#try(consumer);
        if (Buffer.isBuffer(step)) return step;
        const left = remaining(deadline);
        if (left <= 0) throw new Empty(`the Queue '${this.name}' stayed empty`);
        // Another consumer's lease may end meanwhile: wake then to hand its items back.
        const slice = step > 0 ? Math.min(left, step) : left;
        // An abort during the try above has no listener to hear it: check it here, synchronously.
        wait.signal?.throwIfAborted();
        const stop = new AbortController();
        const onSignal = (): void => stop.abort(wait.signal!.reason);
        wait.signal?.addEventListener('abort', onSignal, { once: true });
        announced(Infinity, stop.signal, false).then(
          () => stop.abort(SHUTDOWN_ANNOUNCED),
          () => {},
        );
        try {
          const moved = await withBlockingLink(this.target, stop.signal, slice, (link) =>
            link.run((redis) => redis.blmoveBuffer(this.key(), this.#inFlight(consumer), 'LEFT', 'RIGHT', blockSeconds(slice)), wait.timeout !== Infinity),
          );
          if (moved !== null) {
            await this.freedRoom();
            return moved;
          }
        } catch (error) {
          // A BLMOVE taken back may have moved an item just as Redis answered: hand back what is not held.
          await this.link.script(HAND_BACK, [this.#inFlight(consumer), this.key()], [held]).catch(() => {});
          if (error !== SHUTDOWN_ANNOUNCED) throw error;
        } finally {
          wait.signal?.removeEventListener('abort', onSignal);
          if (!stop.signal.aborted) stop.abort(SHUTDOWN_ANNOUNCED);
        }
      }
    });
  }

  async #join(wait: Wait): Promise<boolean> {
    const keys = [this.key(), this.key('consumers'), this.key('unfinished')];
    const done = await withChannel(this.target, this.key('joined'), wait, (sleep) =>
      waitFor(
        wait,
        async () => {
          const step = await this.link.script<number>(JOIN, keys, [`${this.key('inflight')}:`]);
          return step < 0 ? { value: true } : { retryIn: step > 0 ? step : Infinity };
        },
        sleep,
      ),
    );
    return done === true;
  }

  // Renewing while this handle holds items or waits in a get (it is registered from its first try).
  // The renewal stops at its first tick that finds the handle idle, not at each taskDone: a consumer
  // that takes item after item keeps one timer instead of starting one per item.
  #begin(): void {
    this.#getting += 1;
    this.#stopRenewal ??= renewEvery(this, this.lease, () => this.#renew(), () => ({ method: 'renewConsumer', args: [this.#consumer] }));
  }

  #end(): void {
    this.#getting -= 1;
  }

  async #renew(): Promise<void> {
    if (this.#getting === 0 && this.#held === 0) {
      this.#stopRenewal?.();
      this.#stopRenewal = undefined;
      return;
    }
    if ((await this.renewConsumer(this.#consumer)) === 1 && this.#held > 0) this.lost = true;
  }

  #finished(held: boolean, left: number): void {
    if (held) this.#held -= 1;
    if (left === -2) this.lost = true;
    if (left === -1) throw misuse(Error, 'ERR_MP_TASK_DONE_TOO_MANY', 'task_done() called too many times');
  }
}

registerNamed('JoinableQueue', (where, [maxsize, lease]) => new JoinableQueue({ ...where, lease: lease as number }, maxsize as number), import.meta.url);
