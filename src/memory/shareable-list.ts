/**
 * `ShareableList` (Python's `multiprocessing.shared_memory.ShareableList`): a list of a fixed length
 * whose items (numbers, bigints, booleans, strings, byte arrays, `null`) live in a named `SharedMemory`
 * block, so every process that attaches by name reads and writes the same items.
 *
 * Layout (little-endian, as the typed arrays of every platform Node runs on): a header of the item
 * count and, per item, its slot's offset, capacity and type tag; then the slots, 8-byte aligned. A slot
 * is sized for its first item: 8 bytes for a number, bigint or boolean; a 4-byte length and the bytes,
 * rounded up to 8, for a string (UTF-8) or a byte array. As in Python, an item can be replaced by any
 * value that fits its slot (`ERR_MP_VALUE_TOO_LONG` otherwise), and a write is not atomic: guard
 * concurrent writers with a lock. The layout is this library's own, not Python's `struct` format, so a
 * Python program can attach to the block but not read it as a `ShareableList`.
 *
 * Index access (`list[0]`, `list[-1] = 'x'`, Python's main interface) comes from a Proxy that sits in
 * the prototype chain, under the class's prototype, rather than around each list: a property lookup
 * reaches it only for a key that neither the list nor the class has, so integer keys reach its traps
 * with the list itself as the receiver, while methods (`get()`, `set()` at their usual speed), private
 * fields, `instanceof` and the reduce protocol work on the plain object, which crosses to workers as
 * before. A Proxy around the list would hand every method the proxy as `this` (no private fields) and
 * put a trap on every `get()` call.
 */
import { misuse, describeValue } from '../errors.js';
import { registerShareable, reduce, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { SharedMemory } from './shared-memory-block.js';

/** What a `ShareableList` can hold (Python's: int, float, bool, str, bytes, None). */
export type ShareableListItem = number | bigint | boolean | string | Uint8Array | null;

/** The item types a list made from these items holds: `[1, 'a']` makes a list of numbers and strings, not of `1` and `'a'`. */
export type ShareableListItemOf<I extends ShareableListItem> = I extends number
  ? number
  : I extends string
    ? string
    : I extends boolean
      ? boolean
      : I extends bigint
        ? bigint
        : I;

/** Options of `new ShareableList(sequence, options)`. */
export interface ShareableListOptions {
  /** The block's name: of a new block (default: a random one), or of the list to attach to. */
  readonly name?: string;
}

/**
 * `new ShareableList(items)` creates a list in a new block; `new ShareableList(null, { name })`
 * attaches to an existing one. The item types are inferred from `items`, or given for an attached list.
 */
export interface ShareableListConstructor {
  new <I extends ShareableListItem>(sequence: Iterable<I>, options?: ShareableListOptions): ShareableList<ShareableListItemOf<I>>;
  new <T extends ShareableListItem = ShareableListItem>(
    sequence: null | undefined,
    options: ShareableListOptions & { readonly name: string },
  ): ShareableList<T>;
  readonly prototype: ShareableList;
}

const NULL = 0;
const NUMBER = 1;
const BIGINT = 2;
const BOOLEAN = 3;
const STRING = 4;
const BYTES = 5;

/** Header: the item count, a spare word, then (offset, capacity, tag) per item. */
const HEADER = 8;
const DESCRIPTOR = 12;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** An item's tag and its bytes as stored (strings as UTF-8). */
function encode(item: ShareableListItem): { tag: number; bytes?: Uint8Array } {
  if (item === null) return { tag: NULL };
  switch (typeof item) {
    case 'number':
      return { tag: NUMBER };
    case 'bigint':
      if (item < -(2n ** 63n) || item >= 2n ** 63n) throw misuse(RangeError, 'ERR_MP_VALUE_TOO_LONG', `${item} does not fit in 64 bits`);
      return { tag: BIGINT };
    case 'boolean':
      return { tag: BOOLEAN };
    case 'string':
      return { tag: STRING, bytes: encoder.encode(item) };
    default:
      if (item instanceof Uint8Array) return { tag: BYTES, bytes: item };
      throw misuse(
        TypeError,
        'ERR_MP_VALUE_KIND',
        `a ShareableList holds numbers, bigints, booleans, strings, Uint8Arrays and null, not ${describeValue(item)}`,
      );
  }
}

/** The bytes an item needs in its slot. */
function needs(encoded: { tag: number; bytes?: Uint8Array }): number {
  return encoded.bytes === undefined ? 8 : 4 + encoded.bytes.byteLength;
}

const reviving = new ReviveSlot<{ readonly name: string }>();

/**
 * A fixed-length list in a named shared memory block (Python's `ShareableList`). Create it from items;
 * attach to it by name from any process; pass it to a `Process` or a task and it attaches there. Read
 * and write items by index as in Python (`list[i]`, negative from the end; an index out of range
 * throws a `RangeError` with code `ERR_MP_INDEX_OUT_OF_RANGE`), or with `get(i)` and `set(i, value)`,
 * which skip the index trap: about 10 ns a number read against about 130 ns for `list[i]` (measured
 * on Node 20), so prefer them in hot loops.
 *
 * @example
 * ```ts
 * using list = new ShareableList([1, 'two', 3n, true, null]);
 * const same = new ShareableList(null, { name: list.shm.name });   // in any process of this user
 * same[1] = 'deux';
 * list[1];            // 'deux'
 * list[-1];           // null
 * list.length;        // 5
 * [...list];          // [1, 'deux', 3n, true, null]
 * ```
 */
class ShareableListClass<T extends ShareableListItem = ShareableListItem> implements Shareable, Iterable<T> {
  /** The item at an index (negative: from the end); assigning replaces it. Out of range: `ERR_MP_INDEX_OUT_OF_RANGE`. */
  [index: number]: T;
  /** The block the items live in. */
  readonly shm: SharedMemory;
  readonly #view: DataView;
  readonly #length: number;

  constructor(sequence?: Iterable<ShareableListItem> | null, options: ShareableListOptions = {}) {
    const revived = reviving.take();
    if (revived !== undefined || sequence === undefined || sequence === null) {
      const name = revived?.name ?? options.name;
      if (name === undefined) throw misuse(TypeError, 'ERR_MP_INVALID_ARG', 'pass the items of a new list, or the name of one to attach to');
      this.shm = new SharedMemory({ name });
      this.#view = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, this.shm.size);
      this.#length = this.#view.getUint32(0, true);
      return;
    }
    const items = [...sequence];
    const encoded = items.map(encode);
    const start = align8(HEADER + DESCRIPTOR * items.length);
    let size = start;
    const offsets = encoded.map((e) => {
      const at = size;
      size += align8(Math.max(needs(e), 8));
      return at;
    });
    this.shm = new SharedMemory({ create: true, size, ...(options.name === undefined ? {} : { name: options.name }) });
    this.#view = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, this.shm.size);
    this.#length = items.length;
    this.#view.setUint32(0, items.length, true);
    encoded.forEach((e, i) => {
      this.#view.setUint32(HEADER + DESCRIPTOR * i, offsets[i]!, true);
      this.#view.setUint32(HEADER + DESCRIPTOR * i + 4, align8(Math.max(needs(e), 8)), true);
      this.#write(i, items[i]!, e);
    });
  }

  /** The number of items (fixed at creation). */
  get length(): number {
    return this.#length;
  }

  /** The item at `index` (negative: from the end, as in Python); `list[index]` does the same. */
  get(index: number): T {
    const i = this.#slot(index);
    const at = HEADER + DESCRIPTOR * i;
    const offset = this.#view.getUint32(at, true);
    const view = this.#view;
    switch (view.getUint32(at + 8, true)) {
      case NUMBER:
        return view.getFloat64(offset, true) as T;
      case BIGINT:
        return view.getBigInt64(offset, true) as T;
      case BOOLEAN:
        return (view.getUint8(offset) !== 0) as T;
      case STRING:
        return decoder.decode(this.#bytes(offset).slice()) as T;
      case BYTES:
        return this.#bytes(offset).slice() as T;
      default:
        return null as T;
    }
  }

  /**
   * Replaces the item at `index` with `value`, which must fit the slot (`ERR_MP_VALUE_TOO_LONG`);
   * `list[index] = value` does the same.
   */
  set(index: number, value: T): void {
    this.#write(this.#slot(index), value, encode(value));
  }

  /** How many items equal `value` (byte arrays by content). */
  count(value: ShareableListItem): number {
    let n = 0;
    for (const item of this) if (same(item, value)) n++;
    return n;
  }

  /** The first index of `value`; `ERR_MP_INVALID_ARG` if it is not in the list (Python's `ValueError`). */
  index(value: ShareableListItem): number {
    for (let i = 0; i < this.#length; i++) if (same(this.get(i), value)) return i;
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `${describeValue(value)} is not in this ShareableList`);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  /** A copy of the items. */
  toArray(): T[] {
    return [...this];
  }

  /** `using`: as `shm[Symbol.dispose]()` (closes; unlinks a block this list created). */
  [Symbol.dispose](): void {
    this.shm[Symbol.dispose]();
  }

  /** @internal Crosses by name: the receiver attaches. */
  [reduce](): Reduced {
    return { kind: 'ShareableList', state: { name: this.shm.name } };
  }

  #slot(index: number): number {
    if (!Number.isInteger(index)) {
      throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `ShareableList indices must be integers, not ${describeValue(index)}`);
    }
    const i = index < 0 ? index + this.#length : index;
    if (i < 0 || i >= this.#length) {
      const valid = this.#length === 0 ? 'it is empty' : `it has ${this.#length} items: 0 … ${this.#length - 1}, or -${this.#length} … -1 from the end`;
      throw misuse(RangeError, 'ERR_MP_INDEX_OUT_OF_RANGE', `ShareableList index out of range: ${index} (${valid})`);
    }
    return i;
  }

  // The index traps (see the module notes): they take numeric keys only, and only of real lists (the
  // receiver may be anything that inherits from the class's prototype); anything else is an ordinary
  // property.
  static {
    const isList = (receiver: unknown): receiver is ShareableListClass =>
      typeof receiver === 'object' && receiver !== null && #view in receiver;
    Object.setPrototypeOf(
      ShareableListClass.prototype,
      new Proxy(Object.prototype, {
        get(target, key, receiver) {
          const index = numericKey(key);
          return index !== undefined && isList(receiver) ? receiver.get(index) : Reflect.get(target, key, receiver);
        },
        set(target, key, value, receiver) {
          const index = numericKey(key);
          if (index === undefined || !isList(receiver)) return Reflect.set(target, key, value, receiver);
          receiver.set(index, value as ShareableListItem);
          return true;
        },
      }),
    );
  }

  #bytes(offset: number): Uint8Array {
    const length = this.#view.getUint32(offset, true);
    return new Uint8Array(this.#view.buffer, this.#view.byteOffset + offset + 4, length);
  }

  #write(i: number, value: ShareableListItem, encoded: { tag: number; bytes?: Uint8Array }): void {
    const at = HEADER + DESCRIPTOR * i;
    const offset = this.#view.getUint32(at, true);
    const capacity = this.#view.getUint32(at + 4, true);
    if (needs(encoded) > capacity) {
      throw misuse(RangeError, 'ERR_MP_VALUE_TOO_LONG', `item ${i} has room for ${capacity - 4} bytes; ${describeValue(value)} needs ${needs(encoded) - 4}`);
    }
    const view = this.#view;
    if (encoded.tag === NUMBER) view.setFloat64(offset, value as number, true);
    else if (encoded.tag === BIGINT) view.setBigInt64(offset, value as bigint, true);
    else if (encoded.tag === BOOLEAN) view.setUint8(offset, value === true ? 1 : 0);
    else if (encoded.bytes !== undefined) {
      view.setUint32(offset, encoded.bytes.byteLength, true);
      new Uint8Array(view.buffer, view.byteOffset + offset + 4, encoded.bytes.byteLength).set(encoded.bytes);
    }
    view.setUint32(at + 8, encoded.tag, true);
  }
}

/**
 * The number a property key spells (`'0'`, `'-1'`, `'1.5'`: what `list[n]` passes), which the traps
 * treat as an index (a fractional one is refused as Python refuses `sl[1.5]`), or undefined for the
 * name of a method or field.
 */
function numericKey(key: string | symbol): number | undefined {
  if (typeof key !== 'string' || key.length === 0) return undefined;
  const first = key.charCodeAt(0);
  if (first !== 45 /* - */ && (first < 48 || first > 57)) return undefined; // not a digit: a method or a field
  const index = Number(key);
  return String(index) === key ? index : undefined;
}

function same(a: ShareableListItem, b: ShareableListItem): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((byte, i) => byte === b[i]);
  return a === b;
}

/** A fixed-length list in a named shared memory block (Python's `ShareableList`): see `ShareableListClass`. */
export type ShareableList<T extends ShareableListItem = ShareableListItem> = ShareableListClass<T>;
/** Python's `ShareableList`: `new ShareableList([1, 'two'])`, or `new ShareableList(null, { name })` to attach. */
export const ShareableList = ShareableListClass as ShareableListConstructor;
Object.defineProperty(ShareableListClass, 'name', { value: 'ShareableList' });

registerShareable('ShareableList', (state) => reviving.fill(state as { name: string }, () => new ShareableListClass()), import.meta.url);
