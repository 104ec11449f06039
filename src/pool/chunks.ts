/**
 * How `map` cuts its input into chunks, how chunks of numbers and of small records travel (as blocks),
 * and turning a chunk's outcome back into per-item results.
 *
 * Chunk sizes. Python's rule (about four chunks per worker) amortises messages, but it leaves one
 * worker idle at the end whenever items cost unequal amounts: `map(isPrime, range(5_000_000))` on 2
 * workers gets 8 chunks, the last costing about 4× the first, and ran at 1.53× the serial speed where
 * smaller chunks reached 1.76×. So the default is guided, as OpenMP's `schedule(guided)`: each chunk
 * takes a share of what is left, `remaining / (4 · workers)`, down to a floor. The first chunks are as
 * large as Python's, the last ones small, so the workers finish together; the floor keeps tiny items
 * from costing one message each. An explicit `chunksize` is used as given.
 *
 * Number blocks. A chunk of numbers travels as a typed array whose buffer is moved, not cloned:
 * structured clone walks a plain array element by element on both sides, which dominated `map` over
 * numbers. Integers travel as an `Int32Array` and any other numbers as a `Float64Array`, so the
 * function sees what it would see from a plain array: small integers, on which V8 keeps its fast
 * integer code (a function fed doubles, `n % d` on doubles, ran 5× slower, and stays slow for later
 * plain arrays too). Results come back the same way: int32 results as an `Int32Array`, booleans as a
 * `Uint8Array`, other numbers as a `Float64Array`, small records as columns (`RecordsBlock`), anything
 * else as a plain array. A chunk's results are always an array, never a user's value, so a block there
 * is unambiguous.
 */
import { unpackThrown } from '../transport/unpack.js';
import { Outcome, type ChunkOutcome } from './protocol.js';

// Guided chunks never get smaller than this fraction of a worker's share of the input: the end is
// balanced to within about that much, and a map makes about 15 chunks per worker, whatever its length.
const GUIDED_FLOOR_PER_SHARE = 1 / 64;

/**
 * The size of the chunk that starts at `start` of `length` items: `chunksize` when given, else the
 * guided size (see the module header).
 */
export function chunkSizeAt(start: number, length: number, processes: number, chunksize: number | undefined, most = Infinity): number {
  const remaining = length - start;
  if (chunksize !== undefined) return Math.min(chunksize, remaining);
  const floor = Math.ceil((length / processes) * GUIDED_FLOOR_PER_SHARE);
  return Math.min(remaining, most, Math.max(floor, Math.ceil(remaining / (4 * processes))));
}

// A guided chunk of records carries about this many bytes at most. A worker starts on a chunk only once
// it has been copied whole, and the parent copies the next while the worker runs the first: W8's
// 100,000 records of ~300 bytes ran 20–25% faster in chunks of ~1,000 than in guided chunks of 12,500.
const RECORD_CHUNK_BYTES = 256 * 1024;

/**
 * How many of `items` (records sharing `keys`) a guided chunk may hold: `RECORD_CHUNK_BYTES` over the
 * size of a record, estimated from the first few (strings by length, other fields 8 bytes).
 */
export function recordsPerChunk(items: readonly unknown[], keys: readonly string[]): number {
  const sample = Math.min(items.length, 16);
  let bytes = 0;
  for (let i = 0; i < sample; i++) {
    const record = items[i] as Record<string, unknown>;
    for (const key of keys) {
      const value = record[key];
      bytes += typeof value === 'string' ? value.length + 8 : 8;
    }
  }
  return Math.max(MIN_BLOCK, Math.floor((RECORD_CHUNK_BYTES * sample) / Math.max(1, bytes)));
}

/**
 * A finished chunk's results as an iterator hands them out one by one: the values (a block of booleans
 * is read as booleans), the items that failed, or the error of a chunk that failed as a whole. Built
 * once per chunk, so handing out an item allocates nothing.
 */
export interface ChunkResults {
  /** The index of the chunk's first item in the whole input. */
  readonly base: number;
  readonly count: number;
  /** The next item to hand out, from 0. */
  next: number;
  readonly values: ArrayLike<unknown> | undefined;
  /** `values` is a block of 0/1 bytes standing for booleans. */
  readonly booleans: boolean;
  readonly errors: ReadonlyMap<number, unknown> | undefined;
  /** Set when the whole chunk failed (its function could not be loaded, its worker died). */
  readonly failure: { readonly error: unknown } | undefined;
}

/** The `ChunkResults` of a finished chunk of `count` items starting at `base`. */
export function chunkResults(outcome: Outcome | 'error', value: unknown, count: number, base: number): ChunkResults {
  if (outcome === Outcome.Ok) {
    const results = isRecordsBlock(value) ? fromColumns(value) : (value as ArrayLike<unknown>);
    return { base, count, next: 0, values: results, booleans: results instanceof Uint8Array, errors: undefined, failure: undefined };
  }
  if (outcome === Outcome.Partial) {
    const { results, errors } = value as ChunkOutcome;
    const failed = new Map(errors.map(([index, error]) => [index, unpackThrown(error)]));
    return { base, count, next: 0, values: results, booleans: false, errors: failed, failure: undefined };
  }
  return { base, count, next: 0, values: undefined, booleans: false, errors: undefined, failure: { error: value } };
}

/** Writes the results of a chunk that succeeded (an array or a block) into `into`, from index `at`. */
export function copyResults(results: ArrayLike<unknown> | RecordsBlock, into: unknown[], at: number): void {
  if (isRecordsBlock(results)) {
    rebuildRecords(results, into, at);
    return;
  }
  const length = results.length;
  if (results instanceof Uint8Array) for (let i = 0; i < length; i++) into[at + i] = results[i] === 1;
  else for (let i = 0; i < length; i++) into[at + i] = results[i];
}

// Below this many items, cloning a plain array is as cheap as building a block.
const MIN_BLOCK = 64;

/** Whether chunks of `size` items are worth sending as blocks. */
export function worthABlock(size: number): boolean {
  return size >= MIN_BLOCK;
}

/** True when every item is a number (so chunks of them can travel as blocks). */
export function allNumbers(items: ArrayLike<unknown>): boolean {
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/** A chunk of numbers as it travels. */
export type NumberBlock = Int32Array | Float64Array;
/** A chunk's results as they travel back, when they are all booleans (0 or 1) or all numbers. */
export type ResultBlock = NumberBlock | Uint8Array;

/**
 * Items `from` to `to` (exclusive) as a block: an `Int32Array` when every one is an int32 (and not -0),
 * else a `Float64Array`. Returns undefined, at the first item that is not a number, when one is not.
 */
export function numberBlock(items: ArrayLike<unknown>, from: number, to: number): NumberBlock | undefined {
  const ints = new Int32Array(to - from);
  for (let i = from; i < to; i++) {
    const x = items[i];
    if (typeof x !== 'number') return undefined;
    const n = x | 0;
    if (n !== x || (n === 0 && 1 / x < 0)) return floatBlock(items, from, to);
    ints[i - from] = n;
  }
  return ints;
}

function floatBlock(items: ArrayLike<unknown>, from: number, to: number): Float64Array | undefined {
  const block = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const x = items[i];
    if (typeof x !== 'number') return undefined;
    block[i - from] = x;
  }
  return block;
}

/**
 * A chunk's results as a block, if they are all booleans or all numbers (and enough of them to be
 * worth it); undefined otherwise. See the module header.
 */
export function resultBlock(results: unknown[]): ResultBlock | RecordsBlock | undefined {
  const length = results.length;
  if (length < MIN_BLOCK) return undefined;
  if (typeof results[0] === 'object') return recordsBlock(results);
  if (typeof results[0] === 'boolean') {
    const block = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const x = results[i];
      if (x === true) block[i] = 1;
      else if (x !== false) return undefined;
    }
    return block;
  }
  return numberBlock(results, 0, length);
}

/**
 * A chunk's items or results as columns: `columns[k][i]` is `items[i][keys[k]]`. Used when every item
 * is a plain object with the same keys in the same order and only primitive values (W8's `{ id, text }`
 * records and `{ id, digest, length }` results): the receiver then creates each object with one literal
 * instead of the structured-clone deserializer reading every key of every object again, and the sender
 * skips the serializer's per-object work (W8: the parent's thread, which feeds both workers, spent about
 * half as long on 100,000 results). Primitives only, so a records block always clones and holds nothing
 * to pack.
 */
export interface RecordsBlock {
  readonly keys: readonly string[];
  readonly columns: unknown[][];
}

// More keys than this and the per-object literal stops paying.
const MAX_RECORD_KEYS = 16;

/** Whether a chunk's items or results (an array, a typed array or a records block) are a records block. */
export function isRecordsBlock(value: unknown): value is RecordsBlock {
  return !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

/** `results` as a `RecordsBlock`, if they qualify (see there); undefined otherwise. */
export function recordsBlock(results: readonly unknown[]): RecordsBlock | undefined {
  if (results.length < MIN_BLOCK) return undefined;
  const keys = recordKeys(results);
  return keys === undefined ? undefined : toColumns(results, 0, results.length, keys);
}

/**
 * The keys shared by every item, when all items are plain objects with the same keys in the same order
 * and only primitive values (so they qualify for a `RecordsBlock`, and hold nothing to pack); undefined
 * otherwise.
 */
export function recordKeys(items: readonly unknown[]): readonly string[] | undefined {
  const first = items[0];
  if (!isPlainObject(first)) return undefined;
  const keys = Object.keys(first);
  if (keys.length === 0 || keys.length > MAX_RECORD_KEYS || keys.includes('__proto__')) return undefined;
  const width = keys.length;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isPlainObject(item)) return undefined;
    let k = 0;
    // for-in sees own enumerable keys in order (a plain object inherits none), as structured clone does.
    for (const key in item) {
      if (k === width || key !== keys[k] || !isPrimitive(item[key])) return undefined;
      k++;
    }
    if (k !== width) return undefined;
  }
  return keys;
}

/** Items `from` to `to` (exclusive), which share `keys` (see `recordKeys`), as a `RecordsBlock`. */
export function toColumns(items: readonly unknown[], from: number, to: number, keys: readonly string[]): RecordsBlock {
  const columns = keys.map(() => new Array<unknown>(to - from));
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const column = columns[k]!;
    for (let i = from; i < to; i++) column[i - from] = (items[i] as Record<string, unknown>)[key];
  }
  return { keys, columns };
}

/** The objects of a records block, as an array. */
export function fromColumns(block: RecordsBlock): unknown[] {
  const items = new Array<unknown>(block.columns[0]!.length);
  rebuildRecords(block, items, 0);
  return items;
}

type RecordMaker = (columns: unknown[][], i: number) => Record<string, unknown>;
const makers = new Map<string, RecordMaker>();

/** Writes the objects of a records block into `into` from `at`, each made by one object literal. */
function rebuildRecords(block: RecordsBlock, into: unknown[], at: number): void {
  const { keys, columns } = block;
  const id = keys.join('\u0000');
  let make = makers.get(id);
  if (make === undefined) {
    const fields = keys.map((key, k) => `${JSON.stringify(key)}: c[${k}][i]`).join(', ');
    make = new Function('c', 'i', `return { ${fields} };`) as RecordMaker;
    if (makers.size < 64) makers.set(id, make);
  }
  const length = columns[0]!.length;
  for (let i = 0; i < length; i++) into[at + i] = make(columns, i);
}
