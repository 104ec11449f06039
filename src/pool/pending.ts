/**
 * The queue of a pool's tasks not yet handed to a worker, in priority order with aging.
 *
 * Order: a task's place is its `key`, `id - priority × AGING` (ids count submissions), smallest first,
 * ties by id. So equal priorities are FIFO, and one unit of priority is worth `AGING` submissions: a
 * task goes before lower-priority tasks submitted up to `AGING × Δpriority` submissions before it,
 * never before older ones. That is the aging rule, and why a steady stream of higher-priority work
 * cannot starve a task: a task of priority 0 waits behind at most `AGING` priority-1 tasks submitted
 * after it. Keys are fixed when a task is queued, so nothing is re-sorted as time passes (poolifier
 * re-weighs its queue by age; this needs no clock and is the same on every run).
 *
 * Speed: tasks of the default priority (0, all of them unless the caller says otherwise) stay in a
 * ring-buffer `Fifo`, in key order by construction; only tasks with a priority go into a binary heap.
 * The head is the smaller of the two heads, so the all-default case costs one more comparison than the
 * plain `Fifo` it replaced (bench/micro/dispatch.ts measures both paths; against the old Dispatcher in
 * one process, the default path was within noise).
 */
import { Fifo } from './fifo.js';

/**
 * How many submissions one unit of priority is worth (see the module header): a task of priority 0 is
 * overtaken by at most this many later tasks of priority 1.
 */
export const AGING = 1000;

/** What the queue orders by. */
export interface Queued {
  /** Unique and increasing in submission order. */
  readonly id: number;
  /** `id - priority × AGING`: smaller goes first (see `keyOf`). */
  readonly key: number;
}

/** The place of a task submitted as `id` with `priority` (larger runs first). */
export function keyOf(id: number, priority: number): number {
  return priority === 0 ? id : id - priority * AGING;
}

function before(a: Queued, b: Queued): boolean {
  return a.key < b.key || (a.key === b.key && a.id < b.id);
}

/**
 * The tasks whose key is their id (default priority) are the inherited `Fifo`, in id order (requeued
 * ones back at the front); the others are a binary min-heap on (key, id). Put tasks back with
 * `requeue`, not the inherited `unshift` (which knows only the FIFO part). `drain` empties both, in order.
 */
export class PendingQueue<T extends Queued> extends Fifo<T> {
  readonly #heap: T[] = [];

  override get size(): number {
    return super.size + this.#heap.length;
  }

  override push(item: T): void {
    if (item.key === item.id) super.push(item);
    else this.#siftUp(item);
  }

  /**
   * Puts tasks that were taken but never started back, to go next: default-priority ones at the front
   * of their FIFO (in the order given), the others into the heap at their own place.
   */
  requeue(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item.key === item.id) super.unshift(item);
      else this.#siftUp(item);
    }
  }

  override peek(): T | undefined {
    const plain = super.peek();
    if (this.#heap.length === 0) return plain;
    const top = this.#heap[0]!;
    return plain !== undefined && before(plain, top) ? plain : top;
  }

  override shift(): T | undefined {
    if (this.#heap.length === 0) return super.shift();
    const plain = super.peek();
    const top = this.#heap[0]!;
    if (plain !== undefined && before(plain, top)) return super.shift();
    this.#popTop();
    return top;
  }


  #siftUp(item: T): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  #popTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child += 1;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
