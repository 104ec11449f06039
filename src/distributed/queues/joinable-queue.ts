/**
 * The distributed `JoinableQueue`: a `Queue` that counts unfinished items. Each put adds one to an
 * `unfinished` counter in the same script as the `RPUSH`; `taskDone` takes one off and, at zero,
 * publishes on the queue's "joined" channel, on which `join` sleeps (`objects/waiting.ts`).
 */
import { misuse } from '../../errors.js';
import { parseWait, type Wait, type WaitArg } from '../../sync/wait-options.js';
import { callBlocking } from '../objects/blocking.js';
import { registerNamed, type NamedOptions } from '../objects/named.js';
import type { Script } from '../objects/redis.js';
import { waitFor, withChannel } from '../objects/waiting.js';
import { Queue } from './queue.js';

// KEYS: unfinished, joined channel. Returns what is left, or -1 when nothing was unfinished.
const TASK_DONE: Script = {
  name: 'mpQueueTaskDone',
  keys: 2,
  lua: `
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
if left <= 0 then return -1 end
left = redis.call('DECR', KEYS[1])
if left == 0 then redis.call('PUBLISH', KEYS[2], 0) end
return left
`,
};

/**
 * A `Queue` whose consumers mark each item done (`taskDone`), so a producer can wait until all of
 * them are (`join`): Python's `JoinableQueue`, across machines.
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
  constructor(options: NamedOptions, maxsize = 0) {
    super(options, maxsize);
  }

  /** @internal */
  protected override get joinable(): boolean {
    return true;
  }

  /**
   * Marks one item taken with `get()` as finished (blocking this thread for the round trip). Called
   * more times than items were put, it throws (Python: `task_done() called too many times`).
   */
  taskDone(): void {
    callBlocking<void>(this, 'taskDoneAsync', []);
  }

  /** `taskDone` without blocking the event loop. */
  async taskDoneAsync(): Promise<void> {
    const left = await this.link.script<number>(TASK_DONE, [this.key('unfinished'), this.key('joined')], []);
    if (left < 0) throw misuse(Error, 'ERR_MP_TASK_DONE_TOO_MANY', 'task_done() called too many times');
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

  async #join(wait: Wait): Promise<boolean> {
    const unfinished = this.key('unfinished');
    const done = await withChannel(this.target, this.key('joined'), wait, (sleep) =>
      waitFor(
        wait,
        async () => (Number((await this.link.run((redis) => redis.get(unfinished))) ?? 0) <= 0 ? { value: true } : { retryIn: Infinity }),
        sleep,
      ),
    );
    return done === true;
  }
}

registerNamed('JoinableQueue', (where, [maxsize]) => new JoinableQueue(where, maxsize as number), import.meta.url);
