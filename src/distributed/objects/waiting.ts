/**
 * The one wait loop of the distributed objects: try an atomic step (a Lua script), and if it cannot
 * succeed yet, sleep until something announces a change, then try again; up to a deadline.
 *
 * Two ways to be woken, and why each:
 * - a **wake list** (`BLPOP`) when one change lets exactly one waiter on: a lock released, a slot of a
 *   full queue freed. The releaser leaves one token in the list; a token is kept until taken, so a
 *   waiter that checks, fails and only then blocks still finds it (no lost wake-up). A step that
 *   succeeds and leaves room for more passes the wake-up on (two releases may have left one token for
 *   two waiters). A waiter aborted just as it took a token loses that wake-up: the next waiter then
 *   wakes at the end of its slice (a holder's lease) or its timeout, not at once.
 * - a **channel** (pub/sub) when a change lets every waiter on: an event set, a barrier passed, a
 *   joinable queue finished. The waiter subscribes *before* its first try, so no announcement falls
 *   between a try and the sleep. A reconnect of the subscriber also wakes every waiter (messages sent
 *   while it was away are lost), which then tries again.
 *
 * A step that fails may also say how long it is worth sleeping at most (a lock's holder's remaining
 * lease: a holder that died announces nothing, its lease just runs out).
 *
 * The program's life follows `runtime/futex.ts`: a wait with a deadline keeps the program alive, one
 * without does not, unless it waits on a live party (a lock's holder, whose lease is being renewed):
 * then it sleeps in slices of that lease, which keep the program alive as a timer does. So a script's
 * last `await queue.getAsync()` with no timeout lets it end (nothing here can announce an item), and
 * a consumer program that must wait for producers elsewhere passes a timeout and loops.
 *
 * Redis away: a wait with a deadline stays bounded (`objects/redis.ts` gives up a blocking command or
 * a `SUBSCRIBE` a little after its own timeout, with a `ConnectionError`); one without waits for Redis
 * to come back, as ioredis reconnects.
 */
import type { Redis as RedisClient } from 'ioredis';
import { deadlineAfter, remaining } from '../../runtime/futex.js';
import type { Wait } from '../../sync/wait-options.js';
import type { RedisTarget } from '../connection.js';
import { ConnectionError } from '../../errors.js';
import { BLOCKING_GRACE, blockSeconds, subscriberLink, withBlockingLink } from './redis.js';

/** What one try of a wait gives: its value, or how long to sleep at most before the next try. */
export type Step<T> = { readonly value: T } | { readonly retryIn: number };

/** Sleeps at most `ms` or until woken; aborting `signal` rejects with its reason. */
export type Sleep = (ms: number, signal: AbortSignal | undefined, keepAlive: boolean) => Promise<void>;

/** @internal Tries `step` until it gives a value (returned) or `wait.timeout` runs out (`undefined`). */
export async function waitFor<T>(wait: Wait, step: () => Promise<Step<T>>, sleep: Sleep): Promise<T | undefined> {
  const deadline = deadlineAfter(wait.timeout);
  for (;;) {
    wait.signal?.throwIfAborted();
    const outcome = await step();
    if ('value' in outcome) return outcome.value;
    const left = remaining(deadline);
    if (left <= 0) return undefined;
    // A finite `retryIn` is a live party's lease (a lock's holder renewing it): like a wait with a
    // deadline, it keeps the program alive, as `runtime/futex.ts`'s slices do while a process is involved.
    await sleep(Math.min(left, outcome.retryIn), wait.signal, deadline !== Infinity || outcome.retryIn !== Infinity);
  }
}

/** @internal Sleeping on a wake list: `BLPOP` on a connection of its own. */
export function onWakeList(target: RedisTarget, key: string): Sleep {
  return (ms, signal, keepAlive) =>
    withBlockingLink(target, signal, ms, (link) => link.run((redis) => redis.blpop(key, blockSeconds(ms)), keepAlive)).then(() => undefined);
}

/** @internal Pushes one wake token for `onWakeList` (at most one is kept: it wakes one waiter). */
export const WAKE_ONE_LUA = `
local function wakeOne(list)
  redis.call('DEL', list)
  redis.call('RPUSH', list, 1)
  redis.call('PEXPIRE', list, 60000)
end
`;

/** @internal `nowMs()`: Redis's clock in ms, on which the scripts' leases end (one clock for every client). */
export const NOW_MS_LUA = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * @internal Runs `body` with `channel` subscribed, and a `Sleep` that returns when a message arrives on
 * it (or came since the last sleep), or the subscriber reconnected. `wait` bounds the subscribing too
 * (a subscriber connection waits for Redis to come back): past its timeout and `BLOCKING_GRACE`, it
 * rejects with a `ConnectionError`; on abort, with `signal.reason`.
 */
export async function withChannel<T>(target: RedisTarget, channel: string, wait: Wait, body: (sleep: Sleep) => Promise<T>): Promise<T> {
  const subscription = await subscribe(target, channel, wait);
  try {
    return await body((ms, signal, keepAlive) => subscription.next(ms, signal, keepAlive));
  } finally {
    subscription.close();
  }
}

class Subscription {
  #woken = false;
  #wake: (() => void) | undefined;

  constructor(
    readonly channel: string,
    readonly close: () => void,
  ) {}

  notify(): void {
    this.#woken = true;
    this.#wake?.();
  }

  next(ms: number, signal: AbortSignal | undefined, keepAlive: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        this.#wake = undefined;
        this.#woken = false;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      this.#wake = () => {
        done();
        resolve();
      };
      if (ms !== Infinity) {
        timer = setTimeout(this.#wake, ms);
        if (!keepAlive) timer.unref();
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

interface Subscriber {
  readonly redis: RedisClient;
  readonly channels: Map<string, Set<Subscription>>;
  /** The `SUBSCRIBE` of each channel, which every new subscription of it awaits. */
  readonly subscribed: Map<string, Promise<unknown>>;
}

const subscribers = new Map<string, Subscriber>();

async function subscribe(target: RedisTarget, channel: string, wait: Wait): Promise<Subscription> {
  let subscriber = subscribers.get(target.url);
  if (subscriber === undefined) {
    const redis = await subscriberLink(target).redis;
    const channels = new Map<string, Set<Subscription>>();
    redis.on('message', (from: string) => channels.get(from)?.forEach((s) => s.notify()));
    // After a reconnect ioredis subscribes again by itself; what was published meanwhile is lost.
    redis.on('ready', () => channels.forEach((set) => set.forEach((s) => s.notify())));
    subscriber = { redis, channels, subscribed: new Map() };
    subscribers.set(target.url, subscriber);
  }
  const { redis, channels, subscribed } = subscriber;
  let set = channels.get(channel);
  if (set === undefined) {
    set = new Set();
    channels.set(channel, set);
    // Not kept alive by itself: a finite wait's timer below keeps the program alive, an endless one
    // must not (and a SUBSCRIBE queued while Redis is away may never be answered).
    const subscribing = subscriberLink(target).run((r) => r.subscribe(channel), false);
    subscribing.catch(() => {}); // each subscription awaiting it gets the error; none may be left
    subscribed.set(channel, subscribing);
  }
  const members = set;
  const subscription = new Subscription(channel, () => {
    members.delete(subscription);
    if (members.size === 0 && channels.get(channel) === members) {
      channels.delete(channel);
      subscribed.delete(channel);
      void redis.unsubscribe(channel).catch(() => {});
    }
  });
  members.add(subscription);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let giveUp: (reason: unknown) => void = () => {};
  const onAbort = (): void => giveUp(wait.signal!.reason);
  const givenUp = new Promise<never>((_, reject) => {
    giveUp = reject;
    if (wait.timeout !== Infinity) {
      const ms = wait.timeout + BLOCKING_GRACE;
      timer = setTimeout(() => reject(new ConnectionError(`Redis at ${target.shown} did not answer a SUBSCRIBE within ${ms} ms`)), ms);
    }
  });
  wait.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([subscribed.get(channel), givenUp]);
  } catch (error) {
    subscription.close();
    throw error;
  } finally {
    clearTimeout(timer);
    wait.signal?.removeEventListener('abort', onAbort);
  }
  return subscription;
}
