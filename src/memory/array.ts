/**
 * `Array` (exported also as `SharedArray`) and `RawArray`: a fixed-length array of one typecode in a
 * `SharedArrayBuffer`, seen by every worker.
 *
 * No Proxy: the constructor returns a real typed array of the typecode's class (an `Int32Array` for
 * 'i', a `Float64Array` for 'd', …), of a small subclass that adds `getLock()`, `getObj()`, `typecode`,
 * the lock shortcuts and, for 'c' arrays, `.value`/`.raw`. So `a[i]`, `a.length`, iteration, `at`,
 * `slice` (a plain copy) and everything else run at typed-array speed, and out-of-range reads give
 * `undefined`. Element writes follow typed-array rules (integers wrap, floats truncate); the
 * constructor's initial values are checked strictly.
 */
import { misuse } from '../errors.js';
import { allocateShared, MAX_VIEW_LENGTH, viewTooLongError } from '../runtime/shared-memory.js';
import { registerShareable, reduce, type Reduced, type Shareable } from '../transport/shareable.js';
import type { Lock } from '../sync/lock.js';
import type { RLock } from '../sync/rlock.js';
import { makeLock, reduceLock, reviveLock, setLock, synchronize, type LockOption, type Synchronized } from './synchronized.js';
import { toStored, typeInfo, type ElementOf, type TypeCode, type TypedArrayOf, type TypeInfo, type AnyTypedArray } from './typecodes.js';

/** Options of `new Array(typecode, sizeOrValues, options)`. */
export interface ArrayOptions {
  /** `true` (default): a new `RLock`; `false`: no lock (`getLock()` throws); or a `Lock`/`RLock` to use. */
  lock?: LockOption;
}

/** What a shared array adds to the typed array of its typecode: its typecode, `getObj()` and the lock methods. */
export interface SharedArrayMembers<T extends TypeCode> extends Synchronized, Shareable {
  /** The typecode given to the constructor. */
  readonly typecode: T;
  /** A plain typed array over the same shared memory, without the lock (Python's `get_obj()`). */
  getObj(): TypedArrayOf[T];
}

/** What a 'c' (char) array adds: Python's `.value` and `.raw`. */
export interface CharArrayMembers {
  /** The bytes up to the first NUL, as a (latin-1) string. Setting writes the bytes and a NUL if there is room. */
  value: string;
  /** All the bytes (a copy). Setting writes the given bytes from the start. */
  raw: Uint8Array;
}

/** A shared array of typecode `T`: the typed array of that typecode plus `SharedArrayMembers`. */
export type SharedArray<T extends TypeCode = TypeCode> = TypedArrayOf[T] &
  SharedArrayMembers<T> &
  (T extends 'c' ? CharArrayMembers : unknown);

/** The initial contents an `Array` takes: a length, or the values. */
export type SizeOrValues<T extends TypeCode> =
  | number
  | Iterable<ElementOf<T> | (T extends 'c' | 'u' ? string : never) | (T extends '?' | 'bool' ? boolean : never)>
  | (T extends 'c' | 'u' ? string : never);

/** The `Array`/`SharedArray` constructor. */
export interface SharedArrayConstructor {
  /**
   * A shared array of `typecode`, either `sizeOrValues` zeros or a copy of the given values.
   *
   * @example
   * ```ts
   * const a = new Array('i', [0, 1, 2, 3]);   // an Int32Array over shared memory
   * a.withLock(() => { a[0] += 1; });
   * ```
   */
  new <T extends TypeCode>(typecode: T, sizeOrValues: SizeOrValues<T>, options?: ArrayOptions): SharedArray<T>;
  <T extends TypeCode>(typecode: T, sizeOrValues: SizeOrValues<T>, options?: ArrayOptions): SharedArray<T>;
  /** True for arrays made by `Array`/`SharedArray`/`RawArray` (in any worker). */
  [Symbol.hasInstance](value: unknown): boolean;
}

interface ArrayState {
  readonly typecode: TypeCode;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly length: number;
  readonly lock: Reduced | null;
}

type Instance = AnyTypedArray & SharedArrayMembers<TypeCode>;
type InstanceClass = new (buffer: SharedArrayBuffer, byteOffset: number, length: number, lock: Lock | RLock | null) => Instance;

const classes = new Map<string, InstanceClass>();
const prototypes = new Set<object>();
const latin1 = new TextDecoder('latin1');

// One class per typecode as given (an alias gets its own), so `typecode` reads back what was passed.
function classFor(typecode: TypeCode, type: TypeInfo): InstanceClass {
  const found = classes.get(typecode);
  if (found !== undefined) return found;
  // Typed as Uint8Array over shared memory; at runtime it is the typecode's own typed array class.
  const Base = type.ctor as unknown as new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number) => Uint8Array<SharedArrayBuffer>;
  class Shared extends Base {
    static get [Symbol.species](): typeof Base {
      return Base;
    }
    constructor(buffer: SharedArrayBuffer, byteOffset: number, length: number, lock: Lock | RLock | null) {
      super(buffer, byteOffset, length);
      setLock(this, lock);
    }
    get typecode(): TypeCode {
      return typecode;
    }
    getObj(): AnyTypedArray {
      return new Base(this.buffer, this.byteOffset, this.length) as unknown as AnyTypedArray;
    }
    [reduce](): Reduced {
      const state: ArrayState = {
        typecode,
        buffer: this.buffer,
        byteOffset: this.byteOffset,
        length: this.length,
        lock: reduceLock(this),
      };
      return { kind: 'Array', state };
    }
  }
  Object.defineProperty(Shared, 'name', { value: `Shared${Base.name}` });
  synchronize(Shared, 'Array');
  if (type.kind === 'char') {
    Object.defineProperties(Shared.prototype, {
      value: {
        get(this: Uint8Array): string {
          const end = this.indexOf(0);
          return latin1.decode(this.slice(0, end < 0 ? this.length : end));
        },
        set(this: Uint8Array, text: string | Uint8Array) {
          const bytes = toBytes(text);
          if (bytes.length > this.length) {
            throw misuse(RangeError, 'ERR_MP_VALUE_TOO_LONG', `byte string too long (${bytes.length} bytes for an array of ${this.length})`);
          }
          this.set(bytes);
          if (bytes.length < this.length) this[bytes.length] = 0;
        },
        configurable: true,
      },
      raw: {
        get(this: Uint8Array): Uint8Array {
          return new Uint8Array(this);
        },
        set(this: Uint8Array, data: string | Uint8Array) {
          const bytes = toBytes(data);
          if (bytes.length > this.length) {
            throw misuse(RangeError, 'ERR_MP_VALUE_TOO_LONG', `byte string too long (${bytes.length} bytes for an array of ${this.length})`);
          }
          this.set(bytes);
        },
        configurable: true,
      },
    });
  }
  const made = Shared as unknown as InstanceClass;
  classes.set(typecode, made);
  prototypes.add(Shared.prototype);
  return made;
}

function toBytes(data: string | Uint8Array): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const code = data.charCodeAt(i);
      if (code > 255) throw misuse(TypeError, 'ERR_MP_VALUE_KIND', `'c' arrays hold bytes: character ${JSON.stringify(data[i])} is not one byte`);
      bytes[i] = code;
    }
    return bytes;
  }
  throw misuse(TypeError, 'ERR_MP_VALUE_KIND', `'c' arrays take a string or a Uint8Array, not ${typeof data}`);
}

function initialValues(type: TypeInfo, sizeOrValues: unknown): { length: number; values: (number | bigint)[] | null } {
  if (typeof sizeOrValues === 'number') {
    if (!Number.isInteger(sizeOrValues)) {
      throw misuse(TypeError, 'ERR_MP_ARRAY_SIZE', `Array size must be an integer, not ${sizeOrValues}`);
    }
    if (sizeOrValues < 0) {
      throw misuse(RangeError, 'ERR_MP_ARRAY_SIZE', `Array length must be >= 0, not ${sizeOrValues}`);
    }
    return { length: sizeOrValues, values: null };
  }
  if (typeof sizeOrValues === 'bigint') {
    throw misuse(TypeError, 'ERR_MP_ARRAY_SIZE', `Array size must be a number, not the bigint ${sizeOrValues}n: use Number(${sizeOrValues}n)`);
  }
  let items: Iterable<unknown>;
  if (typeof sizeOrValues === 'string') {
    if (type.kind !== 'char' && type.kind !== 'unicode') {
      throw misuse(TypeError, 'ERR_MP_VALUE_KIND', `a string initialises only 'c' and 'u' arrays, not '${type.code}'`);
    }
    items = type.kind === 'char' ? toBytes(sizeOrValues) : [...sizeOrValues];
  } else if (sizeOrValues !== null && typeof sizeOrValues === 'object' && Symbol.iterator in sizeOrValues) {
    items = sizeOrValues as Iterable<unknown>;
  } else {
    throw misuse(TypeError, 'ERR_MP_ARRAY_SIZE', `Array takes a length or an iterable of values, not ${String(sizeOrValues)}`);
  }
  const values: (number | bigint)[] = [];
  for (const item of items) values.push(toStored(type, item));
  return { length: values.length, values };
}

function create(typecode: TypeCode, sizeOrValues: unknown, lock: Lock | RLock | null, type: TypeInfo): Instance {
  const { length, values } = initialValues(type, sizeOrValues);
  const Class = classFor(typecode, type);
  if (length > MAX_VIEW_LENGTH) {
    throw viewTooLongError(`Array('${typecode}', ${length})`, length, 'elements', 'ERR_MP_ARRAY_SIZE');
  }
  // At least one element's worth of bytes: a zero-length SharedArrayBuffer is fine, but keep offsets simple.
  const buffer = allocateShared(Math.max(length, 1) * type.bytes, { purpose: `Array('${typecode}', ${length})` });
  const array = new Class(buffer, 0, length, lock);
  if (values !== null) (array as Uint8Array).set(values as number[]);
  return array;
}

/**
 * A shared array with a lock (Python's `multiprocessing.Array`); exported as `Array` and `SharedArray`.
 * It is a real typed array of the typecode's class. The default lock is an `RLock`.
 *
 * @example
 * ```ts
 * import { Array as SharedArray } from 'multiprocessing';
 * const a = new SharedArray('d', [0, 100, 200]);
 * a[0] += 1; a.length; [...a]; a instanceof Float64Array; // true
 * ```
 */
export const SharedArray = function SharedArray(typecode: TypeCode, sizeOrValues: unknown, options: ArrayOptions = {}): Instance {
  const type = typeInfo(typecode);
  return create(typecode, sizeOrValues, makeLock(options.lock), type);
} as unknown as SharedArrayConstructor;

Object.defineProperty(SharedArray, Symbol.hasInstance, {
  value: (value: unknown): boolean =>
    typeof value === 'object' && value !== null && prototypes.has(Object.getPrototypeOf(value) as object),
});

/** The `RawArray` constructor: a shared array without a lock. */
export interface RawArrayConstructor {
  new <T extends TypeCode>(typecode: T, sizeOrValues: SizeOrValues<T>): SharedArray<T>;
  <T extends TypeCode>(typecode: T, sizeOrValues: SizeOrValues<T>): SharedArray<T>;
}

/** A shared array without a lock: the same type as `SharedArray<T>` (`getLock()` throws at run time). */
export type RawArray<T extends TypeCode = TypeCode> = SharedArray<T>;

/**
 * A shared array without a lock (Python's `multiprocessing.RawArray`): the typed array of its
 * typecode over shared memory; `getLock()` throws.
 *
 * @example
 * ```ts
 * const pixels = new RawArray('B', 640 * 480);   // a Uint8Array every worker shares
 * ```
 */
export const RawArray = function RawArray(typecode: TypeCode, sizeOrValues: unknown): Instance {
  const type = typeInfo(typecode);
  return create(typecode, sizeOrValues, null, type);
} as unknown as RawArrayConstructor;

registerShareable('Array', (raw) => {
  const state = raw as ArrayState;
  const type = typeInfo(state.typecode);
  const Class = classFor(state.typecode, type);
  return new Class(state.buffer, state.byteOffset, state.length, reviveLock(state.lock));
}, import.meta.url);
