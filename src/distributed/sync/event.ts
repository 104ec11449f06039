/**
 * The distributed `Event`: a Redis key that exists while the event is set. `set` writes it and
 * publishes on the event's channel in one script; `wait` subscribes, then checks the key, and sleeps
 * until a message (or its deadline) before checking again (`objects/waiting.ts`), so a `set` between
 * the check and the sleep is never missed.
 */
import { parseWait, type WaitArg } from '../../sync/wait-options.js';
import { callBlocking } from '../objects/blocking.js';
import { Named, registerNamed, type NamedOptions } from '../objects/named.js';
import type { Script } from '../objects/redis.js';
import { waitFor, withChannel } from '../objects/waiting.js';

// KEYS: flag, channel.
const SET: Script = {
  name: 'mpEventSet',
  keys: 2,
  lua: `
redis.call('SET', KEYS[1], 1)
redis.call('PUBLISH', KEYS[2], 1)
return 1
`,
};

/**
 * An event flag shared by every process, on any machine, that names the same `{ url, namespace, name }`
 * (Python's `multiprocessing.Event`): `set()` wakes every waiter, here and elsewhere.
 *
 * @example
 * ```ts
 * import { Event } from 'multiprocessing/distributed';
 * const ready = new Event({ url, name: 'model-loaded' });
 * if (await ready.waitAsync(30_000)) startServing();   // another machine calls ready.set()
 * ```
 */
export class Event extends Named {
  /** @internal */
  static readonly kind = 'Event';

  constructor(options: NamedOptions) {
    super(options);
  }

  /** Whether the flag is set (a round trip, blocking this thread). */
  isSet(): boolean {
    return callBlocking<boolean>(this, 'isSetAsync', []);
  }

  /** Whether the flag is set. */
  async isSetAsync(): Promise<boolean> {
    return (await this.link.run((redis) => redis.exists(this.key()))) === 1;
  }

  /** Sets the flag and wakes every waiter (blocking this thread for the round trip). */
  set(): void {
    callBlocking<void>(this, 'setAsync', []);
  }

  /** `set` without blocking the event loop. */
  async setAsync(): Promise<void> {
    await this.link.script(SET, [this.key(), this.key('set')], []);
  }

  /** Clears the flag (blocking this thread for the round trip). */
  clear(): void {
    callBlocking<void>(this, 'clearAsync', []);
  }

  /** `clear` without blocking the event loop. */
  async clearAsync(): Promise<void> {
    await this.link.run((redis) => redis.del(this.key()));
  }

  /**
   * Blocks this thread until the flag is set, or `timeout` ms pass; returns the flag (Python's
   * `wait`).
   */
  wait(timeout?: number): boolean {
    return callBlocking<boolean>(this, 'waitAsync', [timeout ?? null]);
  }

  /**
   * `wait` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`. With no
   * timeout, a pending wait does not keep the program alive.
   *
   * @example `await ready.waitAsync({ timeout: 5000, signal: controller.signal });`
   */
  async waitAsync(timeout?: WaitArg): Promise<boolean> {
    const wait = parseWait(timeout);
    const set = await withChannel(this.target, this.key('set'), wait, (sleep) =>
      waitFor(wait, async () => ((await this.isSetAsync()) ? { value: true } : { retryIn: Infinity }), sleep),
    );
    return set === true;
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [];
  }
}

registerNamed('Event', (where) => new Event(where), import.meta.url);
