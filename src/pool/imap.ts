/**
 * The iterator behind `imap` and `imapUnordered`. It reads its input lazily (sync or async), keeps a
 * bounded number of chunks in flight, and hands results out in input order (`imap`) or as they finish
 * (`imapUnordered`), so an endless input works in bounded memory.
 *
 * As with Python's `IMapIterator`, an item whose task threw rejects that `next()`, and the following
 * `next()` goes on with the next item; an input that throws delivers the results before it, then its
 * error, then ends.
 *
 * The pool steers it from outside: after `close()` it reads the rest of its input at once (`readAll`),
 * as Python's task handler does, so every result still arrives and `join()` settles even if nobody is
 * iterating yet (so, as in Python, an endless input must be ended with `break` or `return()` before
 * the pool is closed and joined); after `terminate()` it stops reading (`abort`), and once the chunks
 * in flight have rejected, the next `next()` rejects with the termination error and the following
 * ones are `done`.
 */
import { Fifo } from './fifo.js';
import { chunkResults, type ChunkResults } from './chunks.js';
import { quietWhen } from './delivery.js';
import type { Outcome } from './protocol.js';

/** Runs one chunk whose first item has index `base`; resolves with the chunk's outcome. */
export type ChunkRunner = (items: unknown[], base: number) => Promise<[Outcome | 'error', unknown]>;

type Source = Iterator<unknown> | AsyncIterator<unknown>;

export interface IMapOptions {
  readonly chunksize: number;
  readonly ordered: boolean;
  /** How many chunks may be read ahead of what `next()` has delivered. */
  readonly window: number;
  readonly run: ChunkRunner;
  /** Called with the number of items of each chunk that finished. */
  readonly onItem?: (count: number) => void;
  /** Called once when no more chunks will start (input ended or failed, `return()`, `abort()`). */
  readonly onInputEnd?: () => void;
  /** While true, a rejected `next()` is not reported as unhandled (see delivery.ts). */
  readonly quiet?: () => boolean;
}

// While reading the whole input at once, let results and messages through every so many chunks.
const READ_ALL_YIELD_EVERY = 64;

export class IMapIterator<R> implements AsyncIterableIterator<R> {
  readonly #source: Source;
  readonly #sync: boolean;
  // An array input is cut into chunks by slicing, not read item by item through its iterator: the same
  // items (an array iterator also reads each index when it gets there), at a fraction of the cost.
  readonly #array: readonly unknown[] | undefined;
  readonly #chunksize: number;
  readonly #ordered: boolean;
  #window: number;
  readonly #run: ChunkRunner;
  readonly #onItem: ((done: number) => void) | undefined;
  #onInputEnd: (() => void) | undefined;
  readonly #quiet: () => boolean;

  #read = 0; // items taken from the input
  #delivered = 0; // items handed out by next()
  #chunksInFlight = 0;
  #sourceDone = false;
  #sourceError: { error: unknown } | undefined;
  #reading = false;
  #stopped = false;
  // Finished chunks, each handed out item by item from its own cursor: ordered, by the index of their
  // first item; unordered, in completion order. `#current` is the chunk being handed out.
  readonly #ready = new Map<number, ChunkResults>();
  readonly #finished = new Fifo<ChunkResults>();
  #current: ChunkResults | undefined;
  // The pending next() calls waiting for a chunk to finish or for the input to end (a caller may ask for
  // several items without awaiting each).
  readonly #waiting: (() => void)[] = [];

  constructor(source: Iterable<unknown> | AsyncIterable<unknown>, options: IMapOptions) {
    this.#sync = !(Symbol.asyncIterator in source);
    this.#array = Array.isArray(source) ? source : undefined;
    this.#source = this.#sync
      ? (source as Iterable<unknown>)[Symbol.iterator]()
      : (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    this.#chunksize = options.chunksize;
    this.#ordered = options.ordered;
    this.#window = options.window;
    this.#run = options.run;
    this.#onItem = options.onItem;
    this.#onInputEnd = options.onInputEnd;
    this.#quiet = options.quiet ?? (() => false);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    // An item of a chunk that succeeded whole is handed out with as little work as can be: this runs
    // once per item, mostly before V8 has optimised it, on the thread that also feeds the workers.
    const chunk = this.#current;
    if (chunk !== undefined && chunk.errors === undefined && chunk.failure === undefined) {
      const index = chunk.next++;
      this.#delivered += 1;
      if (chunk.next === chunk.count) this.#chunkDelivered();
      const value = chunk.values![index];
      return Promise.resolve({ done: false, value: (chunk.booleans ? value === 1 : value) as R });
    }
    // A result already here is handed out without the async machinery.
    const atHand = this.#stopped ? undefined : this.#chunkAtHand();
    if (atHand === undefined) return quietWhen(this.#next(), this.#quiet);
    try {
      return Promise.resolve(this.#deliver(atHand));
    } catch (error) {
      const rejected = Promise.reject(error);
      if (this.#quiet()) rejected.catch(() => {});
      return rejected;
    }
  }

  // Hands out the next item of `chunk` (its value, or throws its error).
  #deliver(chunk: ChunkResults): IteratorResult<R> {
    const index = chunk.next++;
    this.#delivered += 1;
    if (chunk.next === chunk.count) this.#chunkDelivered();
    if (chunk.failure !== undefined) throw chunk.failure.error;
    if (chunk.errors?.has(index)) throw chunk.errors.get(index);
    const value = chunk.values![index];
    return { done: false, value: (chunk.booleans ? value === 1 : value) as R };
  }

  // The current chunk is handed out: its place in the window is free for the next one.
  #chunkDelivered(): void {
    this.#current = undefined;
    if (!this.#reading && !this.#sourceDone && this.#backlogChunks() < this.#window) void this.#fill();
  }

  async #next(): Promise<IteratorResult<R>> {
    for (;;) {
      if (this.#stopped) return { done: true, value: undefined };
      const chunk = this.#chunkAtHand();
      if (chunk !== undefined) return this.#deliver(chunk);
      if (this.#sourceDone && this.#delivered === this.#read) {
        if (this.#sourceError !== undefined) {
          const { error } = this.#sourceError;
          this.#sourceError = undefined;
          this.#stopped = true;
          throw error;
        }
        return { done: true, value: undefined };
      }
      // The read is started, not awaited: it goes on until the window is full, and an input that yields
      // slowly must not hold back the results of the items it has given so far.
      if (!this.#sourceDone && !this.#reading && this.#backlogChunks() < this.#window) void this.#fill();
      if (this.#stopped || this.#chunkAtHand() !== undefined || (this.#sourceDone && this.#delivered === this.#read)) continue;
      // Wait for a chunk to finish, or for the read to end.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** Stops reading the input. Chunks already running finish; their results are dropped. */
  async return(): Promise<IteratorResult<R>> {
    this.#stopped = true;
    this.#ready.clear();
    this.#finished.drain();
    this.#current = undefined;
    if (!this.#sourceDone) {
      this.#sourceDone = true;
      this.#inputEnded();
      await this.#source.return?.();
    }
    return { done: true, value: undefined };
  }

  /** The pool was closed: read the rest of the input now, without waiting for `next()` calls. */
  readAll(): void {
    this.#window = Infinity;
    void this.#fill();
  }

  /**
   * The pool was terminated: read no more input. Chunks in flight reject (the pool fails them); after
   * them, one `next()` rejects with `error` (unless the input had ended anyway), then `done`.
   */
  abort(error: unknown): void {
    if (this.#sourceDone) return;
    this.#sourceDone = true;
    this.#sourceError ??= { error };
    this.#inputEnded();
    this.#notify();
    // Close the input (a generator's `finally` runs), as `break` would; its own errors do not matter now.
    try {
      const closing = this.#source.return?.();
      if (closing instanceof Promise) closing.catch(() => {});
    } catch {
      // a generator that is running cannot be closed; it stops at its next step anyway
    }
  }

  #inputEnded(): void {
    const onInputEnd = this.#onInputEnd;
    this.#onInputEnd = undefined;
    onInputEnd?.();
  }

  // The chunk whose next item is the next to hand out, if it has finished.
  #chunkAtHand(): ChunkResults | undefined {
    if (this.#current !== undefined) return this.#current;
    let chunk: ChunkResults | undefined;
    if (!this.#ordered) chunk = this.#finished.shift();
    else if ((chunk = this.#ready.get(this.#delivered)) !== undefined) this.#ready.delete(this.#delivered);
    this.#current = chunk;
    return chunk;
  }

  #notify(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }

  // Reads input and starts chunks until the window is full or the input ends.
  async #fill(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    let chunks = 0;
    try {
      // Results waiting to be delivered count against the window too, so a slow first item of an
      // ordered imap cannot make the buffer grow without bound.
      while (!this.#sourceDone && !this.#stopped && this.#backlogChunks() < this.#window) {
        if (this.#window === Infinity && ++chunks % READ_ALL_YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
        const items: unknown[] = this.#array === undefined ? [] : this.#sliceArray(this.#array);
        // (abort() may end the input while a read is pending: the items read so far still run.)
        while (items.length < this.#chunksize && !this.#sourceDone) {
          let step: IteratorResult<unknown>;
          try {
            // A sync input is read without a turn of the event loop per item.
            const next = this.#source.next();
            step = this.#sync ? (next as IteratorResult<unknown>) : await next;
          } catch (error) {
            this.#sourceError = { error };
            this.#sourceDone = true;
            break;
          }
          if (step.done) {
            this.#sourceDone = true;
            break;
          }
          items.push(step.value);
        }
        if (items.length > 0) this.#start(items);
      }
    } finally {
      this.#reading = false;
      if (this.#sourceDone) this.#inputEnded();
      this.#notify();
    }
  }

  // The next chunk of an array input; the input ends with its last item.
  #sliceArray(array: readonly unknown[]): unknown[] {
    const items = array.slice(this.#read, this.#read + this.#chunksize);
    if (this.#read + items.length >= array.length) this.#sourceDone = true;
    return items;
  }

  #backlogChunks(): number {
    return Math.ceil((this.#read - this.#delivered) / this.#chunksize);
  }

  #start(items: unknown[]): void {
    const base = this.#read;
    this.#read += items.length;
    this.#chunksInFlight += 1;
    void this.#run(items, base).then(([outcome, value]) => {
      this.#chunksInFlight -= 1;
      if (this.#stopped) return;
      const chunk = chunkResults(outcome, value, items.length, base);
      if (this.#ordered) this.#ready.set(base, chunk);
      else this.#finished.push(chunk);
      this.#onItem?.(items.length);
      this.#notify();
    });
  }
}
