/**
 * `SimpleQueue`: Python's `multiprocessing.SimpleQueue`, an unbounded queue with no timeouts.
 */
import { misuse } from '../errors.js';
import { reduce, registerShareable, type Reduced, type Shareable } from '../transport/shareable.js';
import { parseAbort, type AbortOptions } from '../sync/wait-options.js';
import { discardEncoded, encode } from './codec.js';
import { decodeTaken, outOfMemory, takeAsync, revivingRing, takeRing } from './queue.js';
import { OUT_OF_MEMORY, Ring, type RingState } from './ring.js';

/**
 * An unbounded FIFO queue with just `put`, `get`, `empty` and `close` (and `getAsync`).
 *
 * @example
 * ```ts
 * const q = new SimpleQueue<string>();
 * q.put('hello');
 * q.get(); // 'hello'
 * ```
 */
export class SimpleQueue<T = unknown> implements Shareable {
  private readonly ring: Ring;
  private closed = false;

  constructor() {
    this.ring = takeRing(0);
  }

  /**
   * Puts `item` at the back. Waits only while the queue's bytes are at their limit (1 GiB), as Python's
   * `SimpleQueue.put` waits on a full pipe; nothing is ever dropped.
   */
  put(item: T): void {
    this.checkOpen();
    const { bytes, length, tag } = encode(item);
    const status = this.ring.put(bytes, length, tag, Infinity);
    if (status === OUT_OF_MEMORY) {
      discardEncoded(tag, bytes, length);
      throw outOfMemory(length);
    }
  }

  /** Removes and returns the front item, blocking until there is one. */
  get(): T {
    this.checkOpen();
    this.ring.take(Infinity);
    return decodeTaken<T>(this.ring);
  }

  /**
   * `get` that waits without blocking the event loop. An abort of `options.signal` rejects with
   * `signal.reason` and takes no item.
   *
   * @example
   * ```ts
   * const item = await q.getAsync({ signal: controller.signal });
   * ```
   */
  async getAsync(options?: AbortOptions): Promise<T> {
    const signal = parseAbort(options);
    this.checkOpen();
    const [, value] = await takeAsync<T>(this.ring, Infinity, signal);
    return value as T;
  }

  /** True if the queue holds nothing right now. */
  empty(): boolean {
    return this.ring.count === 0;
  }

  /** This handle puts and gets no more; later calls throw `handle is closed`. */
  close(): void {
    this.closed = true;
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'SimpleQueue', state: { ring: this.ring.state } };
  }

  private checkOpen(): void {
    if (this.closed) throw misuse(Error, 'ERR_MP_HANDLE_CLOSED', 'handle is closed');
  }
}

registerShareable('SimpleQueue', (state) =>
  revivingRing.fill(new Ring((state as { ring: RingState }).ring), () => new SimpleQueue()), import.meta.url, { carrier: true });
