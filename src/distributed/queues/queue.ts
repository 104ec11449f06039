/**
 * The distributed `Queue`: Python's `Queue` across machines, as a Redis list of encoded items
 * (`codec.ts`: `v8.serialize`, with distributed shared objects crossing as their names).
 *
 * - `put` is a Lua script: refuse after `shutdown`, refuse while `maxsize` items are queued, else
 *   `RPUSH` (and, for a `JoinableQueue`, count the unfinished item in the same step). A put that finds
 *   the queue full sleeps on the "room" wake list (`objects/waiting.ts`), which each get that frees a
 *   slot refills; a put that leaves room passes the wake-up on, so two puts woken by two gets never
 *   share one token.
 * - `get` first pops in a script (which also frees a slot); on an empty queue it blocks in `BLPOP` on the
 *   item list and the shutdown list together: a `BLPOP` is atomic, so each item goes to exactly one
 *   getter, and a shutdown wakes every getter (each puts the token back for the next).
 *
 * Delivery is Python's: a getter that dies after its pop returned loses that item (at most once),
 * and so, in a narrow window, does a `getAsync` aborted just as Redis answered it. A `Queue` has no
 * acknowledgement to wait for; a `JoinableQueue`'s `taskDone` is one, and there an item whose consumer
 * died goes back to the queue (at least once: `joinable-queue.ts`). Redis restarted without
 * persistence: the items are gone, and the queue reads as empty.
 */
import { Empty, Full, misuse, ShutDown } from '../../errors.js';
import { checkMaxsize } from '../../queues/queue.js';
import { parseWait, type Wait, type WaitArg } from '../../sync/wait-options.js';
import { decode, encode } from '../codec.js';
import { callBlocking } from '../objects/blocking.js';
import { Named, registerNamed, type NamedOptions } from '../objects/named.js';
import { blockSeconds, withBlockingLink, type Script } from '../objects/redis.js';
import { onWakeList, WAKE_ONE_LUA, waitFor } from '../objects/waiting.js';

// KEYS: items, room, shut flag, unfinished. ARGV: item, maxsize, joinable (1/0).
// Returns 1 when put, 0 when full, -1 when shut down.
const PUT: Script = {
  name: 'mpQueuePut',
  keys: 4,
  lua: `${WAKE_ONE_LUA}
local max = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then
  if max > 0 then wakeOne(KEYS[2]) end
  return -1
end
local n = redis.call('LLEN', KEYS[1])
if max > 0 and n >= max then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('INCR', KEYS[4]) end
if max > 0 and n + 1 < max then wakeOne(KEYS[2]) end
return 1
`,
};

// KEYS: items, room, shut flag. ARGV: maxsize. Returns the item, -1 when shut down and drained, or nil.
const POP: Script = {
  name: 'mpQueuePop',
  keys: 3,
  lua: `${WAKE_ONE_LUA}
local item = redis.call('LPOP', KEYS[1])
if item then
  if tonumber(ARGV[1]) > 0 then wakeOne(KEYS[2]) end
  return item
end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
return nil
`,
};

// KEYS: room. Frees a putter after a BLPOP took an item.
const ROOM: Script = { name: 'mpQueueRoom', keys: 1, lua: `${WAKE_ONE_LUA}\nwakeOne(KEYS[1])\nreturn 1` };

// KEYS: items, room, shut flag, shut list (also the name of the channel that announces it), unfinished,
// joined channel. ARGV: immediate (1/0), joinable.
const SHUTDOWN: Script = {
  name: 'mpQueueShutdown',
  keys: 6,
  lua: `${WAKE_ONE_LUA}
redis.call('SET', KEYS[3], 1)
if ARGV[1] == '1' then
  local dropped = redis.call('LLEN', KEYS[1])
  redis.call('DEL', KEYS[1])
  if ARGV[2] == '1' and dropped > 0 then
    if redis.call('DECRBY', KEYS[5], dropped) <= 0 then
      redis.call('SET', KEYS[5], 0)
      redis.call('PUBLISH', KEYS[6], 0)
    end
  end
end
redis.call('DEL', KEYS[4])
redis.call('RPUSH', KEYS[4], 1)
redis.call('PUBLISH', KEYS[4], 1)
wakeOne(KEYS[2])
return 1
`,
};

/**
 * A FIFO queue shared by every process, on any machine, that names the same `{ url, namespace, name }`
 * (Python's `multiprocessing.Queue`, with the same methods). Items are any value `v8.serialize` takes
 * (`Map`, `Set`, `bigint`, typed arrays…), and distributed shared objects (a `Lock`, a `Value`), which
 * arrive as handles to the same object. The items live in Redis, not in the handle: a handle can be
 * made anywhere, at any time.
 *
 * The blocking forms (`put`, `get`, `qsize`…) block the calling thread (through a helper thread); the
 * async forms (`putAsync`, `getAsync`) do not, and take `{ timeout, signal }`.
 *
 * @example
 * ```ts
 * import { Queue } from 'multiprocessing/distributed';
 * const jobs = new Queue<{ id: number }>({ url: 'redis://127.0.0.1:6379', name: 'jobs' }, 1000);
 * await jobs.putAsync({ id: 1 });
 * const job = await jobs.getAsync({ timeout: 5000 }); // Empty after 5 s
 * ```
 */
export class Queue<T = unknown> extends Named implements AsyncIterable<T> {
  /** @internal */
  static readonly kind: string = 'Queue';
  /** The queue's `maxsize` (0 = unbounded). */
  readonly maxsize: number;
  #closed = false;

  constructor(options: NamedOptions, maxsize = 0) {
    super(options);
    this.maxsize = checkMaxsize(maxsize);
  }

  /** @internal Whether puts count unfinished tasks (a `JoinableQueue`). */
  protected get joinable(): boolean {
    return false;
  }

  /**
   * Puts `item` at the back, waiting up to `timeout` ms while the queue is full (`block = false`: not at
   * all), blocking this thread. Throws `Full` when it cannot, `ShutDown` after `shutdown()`.
   */
  put(item: T, block = true, timeout?: number): void {
    const bytes = this.#encode(item);
    callBlocking<void>(this, 'putBytes', [bytes, block ? (timeout ?? null) : 0]);
  }

  /** `put(item, false)`. */
  putNowait(item: T): void {
    this.put(item, false);
  }

  /**
   * `put` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`; an abort
   * rejects with `signal.reason` and puts nothing.
   *
   * @example `await q.putAsync(job, { timeout: 1000, signal: controller.signal });`
   */
  async putAsync(item: T, timeout?: WaitArg): Promise<void> {
    const wait = parseWait(timeout);
    await this.#put(this.#encode(item), wait);
  }

  /**
   * Removes and returns the front item, waiting up to `timeout` ms while the queue is empty
   * (`block = false`: not at all), blocking this thread. Throws `Empty` when there is none, `ShutDown`
   * once shut down and drained.
   */
  get(block = true, timeout?: number): T {
    this.#checkOpen();
    return decode(this.takeBlocking(block ? (timeout ?? null) : 0)) as T;
  }

  /** `get(false)`. */
  getNowait(): T {
    return this.get(false);
  }

  /**
   * `get` without blocking the event loop. Takes a timeout in ms or `{ timeout?, signal? }`; an abort
   * rejects with `signal.reason`. A pending `getAsync` with no timeout does not keep the program alive.
   *
   * @example `const item = await q.getAsync(200); // Empty after 200 ms`
   */
  async getAsync(timeout?: WaitArg): Promise<T> {
    const wait = parseWait(timeout);
    this.#checkOpen();
    return decode(await this.take(wait)) as T;
  }

  /** The number of items in the queue now (a snapshot), blocking this thread for the round trip. */
  qsize(): number {
    return callBlocking<number>(this, 'qsizeAsync', []);
  }

  /** The number of items in the queue now (a snapshot). */
  async qsizeAsync(): Promise<number> {
    return this.link.run((redis) => redis.llen(this.key()));
  }

  /** True if the queue holds nothing now (blocking this thread for the round trip). */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** True if the queue holds nothing now. */
  async emptyAsync(): Promise<boolean> {
    return (await this.qsizeAsync()) === 0;
  }

  /** True if the queue holds `maxsize` items now (blocking this thread for the round trip). */
  full(): boolean {
    return this.maxsize > 0 && this.qsize() >= this.maxsize;
  }

  /** True if the queue holds `maxsize` items now. */
  async fullAsync(): Promise<boolean> {
    return this.maxsize > 0 && (await this.qsizeAsync()) >= this.maxsize;
  }

  /** This handle puts and gets no more (Python's `close`); the items stay for the other handles. */
  close(): void {
    this.#closed = true;
  }

  /** Python's `join_thread`: returns at once (there is no feeder thread), after `close()` only. */
  joinThread(): void {
    if (!this.#closed) throw misuse(Error, 'ERR_MP_QUEUE_NOT_CLOSED', 'Queue not closed: call close() before joinThread()');
  }

  /** Python's `cancel_join_thread`: nothing to cancel; a put is in Redis once it returned. */
  cancelJoinThread(): void {}

  /**
   * Python 3.13's `shutdown`, for every handle everywhere: later puts throw `ShutDown`, waiting puts wake
   * with it, gets drain what is left and then throw `ShutDown`. `immediate` drops what is left.
   * Blocks this thread for the round trip; `shutdownAsync` does not.
   */
  shutdown(immediate = false): void {
    callBlocking<void>(this, 'shutdownAsync', [immediate]);
  }

  /** `shutdown` without blocking the event loop. */
  async shutdownAsync(immediate = false): Promise<void> {
    const keys = [this.key(), this.key('room'), this.key('shut'), this.key('shutdown'), this.key('unfinished'), this.key('joined')];
    await this.link.script(SHUTDOWN, keys, [immediate ? 1 : 0, this.joinable ? 1 : 0]);
  }

  /** True once `shutdown()` was called on any handle (a round trip, blocking this thread). */
  get isShutDown(): boolean {
    return callBlocking<boolean>(this, 'isShutDownAsync', []);
  }

  /** Whether `shutdown()` was called on any handle. */
  async isShutDownAsync(): Promise<boolean> {
    return (await this.link.run((redis) => redis.exists(this.key('shut')))) === 1;
  }

  /** Yields items as they come; ends once the queue is shut down and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      try {
        yield await this.getAsync();
      } catch (error) {
        if (error instanceof ShutDown) return;
        throw error;
      }
    }
  }

  /** @internal A put of encoded bytes; the helper thread runs it for `put()`. */
  async putBytes(bytes: Uint8Array, timeout: number | null): Promise<void> {
    this.#checkOpen();
    await this.#put(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), parseWait(timeout));
  }

  /** @internal A get of the encoded bytes; the helper thread runs it for `get()`. */
  async takeBytes(timeout: number | null): Promise<Uint8Array> {
    return this.take(parseWait(timeout));
  }

  /** @internal `get()`'s take, blocking this thread (`timeout` in ms, `null`: none). */
  protected takeBlocking(timeout: number | null): Uint8Array {
    return callBlocking<Uint8Array>(this, 'takeBytes', [timeout]);
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.maxsize];
  }

  #encode(item: T): Buffer {
    this.#checkOpen();
    return encode(item, 'item');
  }

  async #put(bytes: Buffer, wait: Wait): Promise<void> {
    const keys = [this.key(), this.key('room'), this.key('shut'), this.key('unfinished')];
    const done = await waitFor(
      wait,
      async () => {
        const status = await this.link.script<number>(PUT, keys, [bytes, this.maxsize, this.joinable ? 1 : 0]);
        if (status < 0) throw new ShutDown(`the Queue '${this.name}' is shut down: it takes no more items`);
        return status === 1 ? { value: true } : { retryIn: Infinity };
      },
      onWakeList(this.target, this.key('room')),
    );
    if (done === undefined) throw new Full(`the Queue '${this.name}' stayed full (maxsize ${this.maxsize})`);
  }

  /** @internal Takes the front item's bytes: popped, so at most once (see the module notes). */
  protected async take(wait: Wait): Promise<Buffer> {
    wait.signal?.throwIfAborted();
    const first = await this.link.script<Buffer | number | null>(POP, [this.key(), this.key('room'), this.key('shut')], [this.maxsize], true, true);
    if (Buffer.isBuffer(first)) return first;
    if (first === -1) throw this.shutDownError();
    if (wait.timeout === 0) throw new Empty(`the Queue '${this.name}' is empty`);
    const shutdownList = this.key('shutdown');
    const popped = await withBlockingLink(this.target, wait.signal, wait.timeout, (link) =>
      link.run((redis) => redis.blpopBuffer(this.key(), shutdownList, blockSeconds(wait.timeout)), wait.timeout !== Infinity),
    );
    if (popped === null) throw new Empty(`the Queue '${this.name}' stayed empty`);
    const [from, item] = popped;
    if (from.toString() === shutdownList) {
      // Leave the token for the next getter: a shutdown wakes them all, one after the other.
      await this.link.run((redis) => redis.rpush(shutdownList, 1));
      throw this.shutDownError();
    }
    await this.freedRoom();
    return item;
  }

  /** @internal After a blocking pop took an item: frees a putter waiting for room. */
  protected async freedRoom(): Promise<void> {
    if (this.maxsize > 0) await this.link.script(ROOM, [this.key('room')], []);
  }

  /** @internal What a get throws once the queue is shut down and drained. */
  protected shutDownError(): ShutDown {
    return new ShutDown(`the Queue '${this.name}' is shut down and drained`);
  }

  #checkOpen(): void {
    if (this.#closed) throw misuse(Error, 'ERR_MP_QUEUE_CLOSED', 'Queue is closed');
  }
}

registerNamed('Queue', (where, [maxsize]) => new Queue(where, maxsize as number), import.meta.url);
