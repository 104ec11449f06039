/**
 * Python's typecodes (Linux x86-64 sizes) and their aliases: which typed array holds each, and how
 * values are checked on the way in.
 */
import { misuse } from '../errors.js';

/** Python's single-letter typecodes. */
export type PythonTypeCode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd' | 'c' | 'u' | '?';
/** Readable aliases of the typecodes. */
export type TypeCodeAlias =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'bool';
/** Every typecode `Value` and `Array` accept. */
export type TypeCode = PythonTypeCode | TypeCodeAlias;

/** The typed array class that holds each typecode's elements. */
export interface TypedArrayOf {
  b: Int8Array;
  B: Uint8Array;
  h: Int16Array;
  H: Uint16Array;
  i: Int32Array;
  I: Uint32Array;
  l: BigInt64Array;
  L: BigUint64Array;
  q: BigInt64Array;
  Q: BigUint64Array;
  f: Float32Array;
  d: Float64Array;
  c: Uint8Array;
  u: Uint32Array;
  '?': Uint8Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  float32: Float32Array;
  float64: Float64Array;
  bool: Uint8Array;
}

/** What `Value.value` reads and takes for each typecode. */
export type ValueOf<T extends TypeCode> = T extends 'l' | 'L' | 'q' | 'Q' | 'int64' | 'uint64'
  ? bigint
  : T extends 'c' | 'u'
    ? string
    : T extends '?' | 'bool'
      ? boolean
      : number;

/** What `new Value(typecode, initial)` takes: the value's own kind, or a byte/code point number for 'c'/'u', or 0/1 for '?'. */
export type InitialOf<T extends TypeCode> = ValueOf<T> | (T extends 'c' | 'u' | '?' | 'bool' ? number : never);

/** What one element of an `Array` of the typecode is (the typed array's element type). */
export type ElementOf<T extends TypeCode> = T extends 'l' | 'L' | 'q' | 'Q' | 'int64' | 'uint64' ? bigint : number;

/** How a typecode's values are represented and checked. */
export type Kind = 'int' | 'bigint' | 'float' | 'char' | 'unicode' | 'bool';

type AnyTypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** A typecode's storage. */
export interface TypeInfo {
  /** The Python letter (aliases resolve to it). */
  readonly code: PythonTypeCode;
  readonly kind: Kind;
  readonly ctor: AnyTypedArrayConstructor;
  readonly bytes: number;
}

const info = (code: PythonTypeCode, kind: Kind, ctor: AnyTypedArrayConstructor): TypeInfo =>
  Object.freeze({ code, kind, ctor, bytes: ctor.BYTES_PER_ELEMENT });

const table: Record<PythonTypeCode, TypeInfo> = {
  b: info('b', 'int', Int8Array),
  B: info('B', 'int', Uint8Array),
  h: info('h', 'int', Int16Array),
  H: info('H', 'int', Uint16Array),
  i: info('i', 'int', Int32Array),
  I: info('I', 'int', Uint32Array),
  l: info('l', 'bigint', BigInt64Array),
  L: info('L', 'bigint', BigUint64Array),
  q: info('q', 'bigint', BigInt64Array),
  Q: info('Q', 'bigint', BigUint64Array),
  f: info('f', 'float', Float32Array),
  d: info('d', 'float', Float64Array),
  c: info('c', 'char', Uint8Array),
  u: info('u', 'unicode', Uint32Array),
  '?': info('?', 'bool', Uint8Array),
};

const aliases: Record<TypeCodeAlias, PythonTypeCode> = {
  int8: 'b',
  uint8: 'B',
  int16: 'h',
  uint16: 'H',
  int32: 'i',
  uint32: 'I',
  int64: 'q',
  uint64: 'Q',
  float32: 'f',
  float64: 'd',
  bool: '?',
};

/** Looks up a typecode or alias; throws a `TypeError` listing the valid ones for anything else. */
export function typeInfo(typecode: unknown): TypeInfo {
  if (typeof typecode === 'string') {
    if (Object.hasOwn(table, typecode)) return table[typecode as PythonTypeCode];
    if (Object.hasOwn(aliases, typecode)) return table[aliases[typecode as TypeCodeAlias]];
  }
  throw misuse(
    TypeError,
    'ERR_MP_TYPECODE',
    `bad typecode ${typeof typecode === 'string' ? `'${typecode}'` : String(typecode)} (must be one of ` +
      `${Object.keys(table).join(' ')}, or an alias: ${Object.keys(aliases).join(', ')})`,
  );
}

/**
 * Checks one value for a typecode and converts it to what the typed array stores. Integers must be
 * integral numbers, 64-bit integers bigints, floats numbers, 'c' a one-byte string (or a byte
 * number), 'u' a one-character string, '?' anything (stored as 0/1, like Python's bool()).
 * Out-of-range integers wrap as typed arrays (and ctypes) do.
 */
export function toStored(type: TypeInfo, value: unknown): number | bigint {
  switch (type.kind) {
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'boolean') return value ? 1 : 0;
      throw wrongKind(type, value, 'an integer number');
    case 'float':
      if (typeof value === 'number') return value;
      throw wrongKind(type, value, 'a number');
    case 'bigint':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isInteger(value)) {
        throw misuse(
          TypeError,
          'ERR_MP_VALUE_KIND',
          `typecode '${type.code}' holds 64-bit integers, which read and write as bigint: pass ${value}n or BigInt(${value}), not the number ${value}`,
        );
      }
      throw wrongKind(type, value, 'a bigint');
    case 'bool':
      return value ? 1 : 0;
    case 'char':
      if (typeof value === 'string' && value.length === 1 && value.charCodeAt(0) < 256) return value.charCodeAt(0);
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 256) return value;
      throw wrongKind(type, value, 'a one-byte string (or a byte value 0-255)');
    case 'unicode': {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x10ffff) return value;
      const point = typeof value === 'string' ? value.codePointAt(0) : undefined;
      if (point !== undefined && String.fromCodePoint(point).length === (value as string).length) return point;
      throw wrongKind(type, value, 'a one-character string');
    }
  }
}

/** Converts what the typed array stores back into `Value.value`'s representation. */
export function fromStored(type: TypeInfo, stored: number | bigint): number | bigint | string | boolean {
  switch (type.kind) {
    case 'char':
      return String.fromCharCode(stored as number);
    case 'unicode':
      return String.fromCodePoint(stored as number);
    case 'bool':
      return stored !== 0;
    default:
      return stored;
  }
}

function wrongKind(type: TypeInfo, value: unknown, wanted: string): TypeError {
  const got =
    typeof value === 'number' ? `the number ${value}` : typeof value === 'string' ? `the string ${JSON.stringify(value)}` : typeof value;
  const hint = type.kind === 'int' && typeof value === 'number' ? ` (round it with Math.trunc(), or use typecode 'd' for floats)` : '';
  return misuse(TypeError, 'ERR_MP_VALUE_KIND', `typecode '${type.code}' needs ${wanted}, not ${got}${hint}`);
}

/** A typed array of any element type a typecode can have. */
export type AnyTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A typed array of the typecode's class over `buffer`. */
export function viewOf(type: TypeInfo, buffer: SharedArrayBuffer, byteOffset: number, length: number): AnyTypedArray {
  const Ctor = type.ctor as unknown as new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => AnyTypedArray;
  return new Ctor(buffer, byteOffset, length);
}
