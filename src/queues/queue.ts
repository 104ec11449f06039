/**
 * `Queue`: Python's `multiprocessing.Queue`, over a byte ring in shared memory.
 *
 * `put` encodes the item at once in the caller (an item that cannot be sent throws a `TypeError` naming
 * its path, and nothing is enqueued) and copies it into shared memory before returning, so nothing is
 * lost when the producer exits right after. There is no feeder thread and nothing goes through any
 * event loop: blocking `get`/`put` work on the main thread as in workers.
 */
import { Empty, Full, ShutDown, misuse } from '../errors.js';
import { parseWait, toWaitTimeout, type WaitArg } from '../sync/wait-options.js';
import { reduce, registerShareable, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { decode, discardEncoded, encode, takeUnfinished } from './codec.js';
import { FULL, OK, OUT_OF_MEMORY, Ring, SHUTDOWN, type Peer, type RingState, type Status } from './ring.js';

/** @internal The revive slot of the queues: their revivers hand the existing ring to the constructor. */
export const revivingRing = new ReviveSlot<Ring>();

/** @internal The ring a constructor should use: the one being revived, or a new one. */
export function takeRing(maxItems: number): Ring {
  return revivingRing.take() ?? Ring.create(maxItems);
}

/** @internal Normalises Python's `maxsize` (≤ 0 means unbounded). */
export function checkMaxsize(maxsize: number): number {
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `maxsize must be an integer, not ${String(maxsize)}`);
  }
  if (maxsize > 0x7fffffff) throw misuse(RangeError, 'ERR_MP_INVALID_ARG', 'maxsize must be at most 2147483647');
  return maxsize < 0 ? 0 : maxsize;
}

/**
 * @internal Decodes the record a successful take just copied into the thread's scratch buffer.
 * `canWait`: see `decode` (then read `takeUnfinished()` at once).
 */
export function decodeTaken<T>(ring: Ring, canWait = false): T {
  return decode(ring.lastTag, ring.scratch, ring.lastLength, canWait) as T;
}

/**
 * @internal Async take: the record is decoded in the same turn it is taken (the scratch is shared);
 * then, if the item needs the event loop first, it is awaited: the classes of its instances loaded if
 * this thread did not have them yet, and on Bun and Deno the news of shared memory it names (see
 * `codec.ts`). An abort of `signal` can no longer land then: the item is taken.
 */
export async function takeAsync<T>(
  ring: Ring,
  timeout: number,
  signal?: AbortSignal,
  peer?: Peer,
): Promise<[Status, T | undefined]> {
  let value: T | undefined;
  let unfinished: Promise<unknown> | undefined;
  const status = await ring.takeAsync(
    timeout,
    peer,
    () => {
      value = decodeTaken<T>(ring, true);
      unfinished = takeUnfinished();
    },
    signal,
  );
  if (unfinished !== undefined) value = (await unfinished) as T;
  return [status, value];
}

/** @internal The error for a ring that could not grow: memory ran out, not room. */
export function outOfMemory(length: number): Error {
  return misuse(
    Error,
    'ERR_MP_OUT_OF_MEMORY',
    `out of memory: the queue could not grow to hold ${length} more bytes. Take items out faster, or bound the queue (maxsize).`,
  );
}

function statusError(status: Status, what: 'get' | 'put', length = 0): Error {
  if (status === OUT_OF_MEMORY) return outOfMemory(length);
  if (status === SHUTDOWN) return new ShutDown(what === 'put' ? 'Queue is shut down' : 'Queue is shut down and empty');
  return status === FULL ? new Full('Queue is full') : new Empty('Queue is empty');
}

/** The state a `Queue` reduces to. */
interface QueueState {
  ring: RingState;
}

/**
 * A multi-producer, multi-consumer FIFO queue shared between processes (Python's
 * `multiprocessing.Queue`). `maxsize ≤ 0` is unbounded in items: `put` waits only while the queue's
 * bytes are at their limit (1 GiB), as a writer to a full pipe waits in Python. Items may hold shared
 * objects (`Value`, `Lock`, another `Queue`, a `Connection`…), which arrive live, and instances of
 * classes a module exports, which arrive as instances of that class.
 *
 * A `timeout` bounds the whole wait, including the wait for the queue's internal lock, and an async
 * wait's `signal` aborts it there too. A producer or consumer that dies in the middle of `put` or
 * `get` (terminated, killed, a pool task stopped by its `timeout` or `signal`) does not leave that
 * lock stuck: the next caller takes it over (a line on stderr says so), and a record the dead
 * producer had not finished publishing never appears. As with every lock, a thread that blocks
 * synchronously right after terminating the holder does not see the death until its event loop has
 * run (await `p.join()` first).
 *
 * @example
 * ```ts
 * const q = new Queue<number[]>();
 * const p = new Process({ target: produce, args: [q] }); // produce(q) { q.put([42, null, 'hello']) }
 * p.start();
 * console.log(q.get()); // [ 42, null, 'hello' ]
 * await p.join();
 * ```
 */
export class Queue<T = unknown> implements Shareable, AsyncIterable<T> {
  /** @internal */
  protected readonly ring: Ring;
  private closed = false;

  constructor(maxsize = 0) {
    this.ring = takeRing(checkMaxsize(maxsize));
  }

  /** The queue's `maxsize` (0 = unbounded). */
  get maxsize(): number {
    return this.ring.maxItems;
  }

  /**
   * Puts `item` at the back, waiting up to `timeout` ms while the queue is full (`block = false`:
   * not at all). Throws `Full` when it cannot, `ShutDown` after `shutdown()`.
   */
  put(item: T, block = true, timeout?: number): void {
    this.checkOpen();
    const { bytes, length, tag } = encode(item);
    const status = this.ring.put(bytes, length, tag, block ? toWaitTimeout(timeout) : 0);
    if (status !== OK) {
      discardEncoded(tag, bytes, length);
      throw statusError(status, 'put', length);
    }
  }

  /** `put(item, false)`. */
  putNowait(item: T): void {
    this.put(item, false);
  }

  /**
   * `put` that waits without blocking the event loop. Takes a timeout in ms or
   * `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason` and puts nothing.
   *
   * @example
   * ```ts
   * await q.putAsync(job, { timeout: 1000, signal: controller.signal });
   * ```
   */
  async putAsync(item: T, timeout?: WaitArg): Promise<void> {
    const { timeout: limit, signal } = parseWait(timeout);
    this.checkOpen();
    const { bytes, length, tag } = encode(item);
    const own = bytes.slice(0, length); // the encoder's buffer may be reused while we wait
    let status: Status;
    try {
      status = await this.ring.putAsync(own, length, tag, limit, signal);
    } catch (error) {
      discardEncoded(tag, own, length); // aborted: nothing was put
      throw error;
    }
    if (status !== OK) {
      discardEncoded(tag, own, length);
      throw statusError(status, 'put', length);
    }
  }

  /**
   * Removes and returns the front item, waiting up to `timeout` ms while the queue is empty
   * (`block = false`: not at all). Throws `Empty` when there is none, `ShutDown` once shut down and drained.
   */
  get(block = true, timeout?: number): T {
    this.checkOpen();
    const status = this.ring.take(block ? toWaitTimeout(timeout) : 0);
    if (status !== OK) throw statusError(status, 'get');
    return decodeTaken<T>(this.ring);
  }

  /** `get(false)`. */
  getNowait(): T {
    return this.get(false);
  }

  /**
   * `get` that waits without blocking the event loop. Takes a timeout in ms or
   * `{ timeout?, signal? }`; an abort of `signal` rejects with `signal.reason` and takes no item. A
   * pending `getAsync` alone does not keep the program alive (a producer that is still running does).
   *
   * @example
   * ```ts
   * const item = await q.getAsync({ signal: AbortSignal.timeout(200) }); // or q.getAsync(200): Empty
   * ```
   */
  async getAsync(timeout?: WaitArg): Promise<T> {
    const { timeout: limit, signal } = parseWait(timeout);
    this.checkOpen();
    const [status, value] = await takeAsync<T>(this.ring, limit, signal);
    if (status !== OK) throw statusError(status, 'get');
    return value as T;
  }

  /** Number of items in the queue (a snapshot: other processes may change it at once). */
  qsize(): number {
    return this.ring.count;
  }

  /** True if the queue holds nothing right now. */
  empty(): boolean {
    return this.ring.count === 0;
  }

  /**
   * True if the queue holds `maxsize` items right now, or (bounded or not) a put found no room within
   * the queue's byte limit (1 GiB) and nothing was taken since.
   */
  full(): boolean {
    const max = this.ring.maxItems;
    return (max > 0 && this.ring.count >= max) || this.ring.bytesFull;
  }

  /**
   * This handle puts and gets no more (Python's `close`). Items already put stay in the queue for the
   * other handles: nothing is flushed because nothing is buffered.
   */
  close(): void {
    this.closed = true;
  }

  /** Python's `join_thread`: returns at once (there is no feeder thread), after `close()` only. */
  joinThread(): void {
    if (!this.closed) throw misuse(Error, 'ERR_MP_QUEUE_NOT_CLOSED', 'Queue not closed: call close() before joinThread()');
  }

  /** Python's `cancel_join_thread`: nothing to cancel here; put items are never lost. */
  cancelJoinThread(): void {}

  /**
   * Python 3.13's `shutdown`, for every handle: later puts throw `ShutDown`, blocked puts wake with it,
   * gets drain what is left and then throw `ShutDown`. `immediate` drops what is left.
   */
  shutdown(immediate = false): void {
    this.ring.shutdown(immediate);
  }

  /** True once `shutdown()` was called on any handle. */
  get isShutDown(): boolean {
    return this.ring.isShutDown;
  }

  /** Yields items as they come; ends once the queue is shut down and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      this.checkOpen();
      const [status, value] = await takeAsync<T>(this.ring, Infinity);
      if (status === SHUTDOWN) return;
      if (status === OK) yield value as T;
    }
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'Queue', state: { ring: this.ring.state } satisfies QueueState };
  }

  /** @internal */
  protected checkOpen(): void {
    if (this.closed) throw misuse(Error, 'ERR_MP_QUEUE_CLOSED', 'Queue is closed');
  }
}

registerShareable('Queue', (state) => revivingRing.fill(new Ring((state as QueueState).ring), () => new Queue()), import.meta.url, { carrier: true });
