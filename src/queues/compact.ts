/**
 * The queues' fast codec for the common case: small trees of plain data (plain objects, dense arrays,
 * strings, numbers, booleans, `null`, `undefined`), written in the MessagePack layout.
 *
 * Why not msgpackr here: a queue item is usually a few dozen bytes, and a producer is often a freshly
 * started worker. msgpackr's encoder is one very large function that V8 takes a long time to optimise,
 * and its `pack` allocates a new `Buffer` view per call; this encoder is small, writes into one reused
 * buffer, checks exactness while it writes (one walk, not two), and reaches optimised code within a few
 * thousand items. Anything it does not cover makes `encodeCompact` return -1, and the caller falls back
 * to msgpackr or `v8.serialize` (see `codec.ts`).
 *
 * The layout is MessagePack's (fixint/int/uint, float64, fixstr/str8/16/32, fixarray/array16/32,
 * fixmap/map16/32, nil, true, false) plus one byte MessagePack leaves unused, 0xc1, for `undefined`.
 * Numbers that are not int32, and `-0`, are float64, so every number comes back exactly.
 *
 * @example
 * ```ts
 * const length = encodeCompact({ i: 1, s: 'item-1' }); // > 0
 * decodeCompact(compactBuffer(), length); // { i: 1, s: 'item-1' }
 * ```
 */
import { misuse } from '../errors.js';

const NIL = 0xc0;
const UNDEFINED = 0xc1;
const FALSE = 0xc2;
const TRUE = 0xc3;
const FLOAT64 = 0xcb;
const UINT8 = 0xcc;
const UINT16 = 0xcd;
const UINT32 = 0xce;
const INT8 = 0xd0;
const INT16 = 0xd1;
const INT32 = 0xd2;
const STR8 = 0xd9;
const STR16 = 0xda;
const STR32 = 0xdb;
const ARRAY16 = 0xdc;
const ARRAY32 = 0xdd;
const MAP16 = 0xde;
const MAP32 = 0xdf;

// Limits of the fast path; past them the caller's slower codecs decide (they track references in
// large graphs and handle depth without recursion limits of their own).
const SEEN_MAX = 32;
const DEPTH_MAX = 48;
const NODES_MAX = 4096;

const INITIAL_BYTES = 16 * 1024;
const KEEP_BYTES = 1024 * 1024;
let buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
let view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
let position = 0;
let lastLength = 0;
let nodes = 0;
let objects = 0;
const seen: (object | undefined)[] = [];

/** The buffer the last successful `encodeCompact` wrote into (valid until the next call). */
export function compactBuffer(): Uint8Array {
  return buffer;
}

function allocate(size: number): void {
  buffer = Buffer.allocUnsafeSlow(size);
  view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function reserve(bytes: number): void {
  if (position + bytes <= buffer.length) return;
  let size = buffer.length * 2;
  while (size < position + bytes) size *= 2;
  const written = buffer.subarray(0, position);
  allocate(size);
  buffer.set(written);
}

/**
 * Encodes `value` into the shared buffer (see `compactBuffer`) and returns its length in bytes, or -1
 * when the value is outside the fast path: then nothing is promised about the buffer's contents.
 */
export function encodeCompact(value: unknown): number {
  // A buffer grown for one large item is let go once items are small again (it is reused otherwise).
  if (buffer.length > KEEP_BYTES && lastLength < KEEP_BYTES / 4) allocate(INITIAL_BYTES);
  lastLength = 0;
  position = 0;
  nodes = 0;
  objects = 0;
  let ok = false;
  try {
    ok = write(value, 0);
  } finally {
    for (let i = Math.min(objects, SEEN_MAX) - 1; i >= 0; i--) seen[i] = undefined;
  }
  if (!ok) return -1;
  lastLength = position;
  return position;
}

function write(value: unknown, depth: number): boolean {
  if (++nodes > NODES_MAX) return false;
  switch (typeof value) {
    case 'number':
      writeNumber(value);
      return true;
    case 'string':
      return writeString(value);
    case 'boolean':
      reserve(1);
      buffer[position++] = value ? TRUE : FALSE;
      return true;
    case 'undefined':
      reserve(1);
      buffer[position++] = UNDEFINED;
      return true;
    case 'object':
      if (value === null) {
        reserve(1);
        buffer[position++] = NIL;
        return true;
      }
      return depth < DEPTH_MAX && writeObject(value, depth);
    default:
      return false; // bigint, function, symbol
  }
}

function writeNumber(n: number): void {
  reserve(9);
  if ((n | 0) === n && (n !== 0 || 1 / n > 0)) {
    if (n >= 0) {
      if (n < 0x80) {
        buffer[position++] = n;
      } else if (n < 0x100) {
        buffer[position++] = UINT8;
        buffer[position++] = n;
      } else if (n < 0x10000) {
        buffer[position++] = UINT16;
        view.setUint16(position, n);
        position += 2;
      } else {
        buffer[position++] = UINT32;
        view.setUint32(position, n);
        position += 4;
      }
    } else if (n >= -0x20) {
      buffer[position++] = n & 0xff;
    } else if (n >= -0x80) {
      buffer[position++] = INT8;
      buffer[position++] = n & 0xff;
    } else if (n >= -0x8000) {
      buffer[position++] = INT16;
      view.setInt16(position, n);
      position += 2;
    } else {
      buffer[position++] = INT32;
      view.setInt32(position, n);
      position += 4;
    }
    return;
  }
  buffer[position++] = FLOAT64;
  view.setFloat64(position, n);
  position += 8;
}

function writeString(s: string): boolean {
  const length = s.length;
  if (length < 32) {
    // Short ASCII (the usual key or label): one header byte, then the characters as bytes.
    reserve(1 + length);
    const start = position;
    buffer[position++] = 0xa0 | length;
    for (let i = 0; i < length; i++) {
      const code = s.charCodeAt(i);
      if (code >= 0x80) {
        position = start;
        return writeUtf8(s);
      }
      buffer[position++] = code;
    }
    return true;
  }
  return writeUtf8(s);
}

function writeUtf8(s: string): boolean {
  if (!s.isWellFormed()) return false; // UTF-8 cannot carry a lone surrogate: v8.serialize will
  // Short strings reserve for the worst case (3 bytes per UTF-16 unit); long ones are measured, so a
  // large ASCII string does not claim three times its size.
  const most = s.length < 4096 ? s.length * 3 : Buffer.byteLength(s, 'utf8');
  reserve(5 + most);
  // The header is sized for the largest possible byte count; MessagePack allows a wider header.
  const header = most < 0x100 ? 2 : most < 0x10000 ? 3 : 5;
  const bytes = buffer.write(s, position + header, 'utf8');
  if (header === 2) {
    buffer[position] = STR8;
    buffer[position + 1] = bytes;
  } else if (header === 3) {
    buffer[position] = STR16;
    view.setUint16(position + 1, bytes);
  } else {
    buffer[position] = STR32;
    view.setUint32(position + 1, bytes);
  }
  position += header + bytes;
  return true;
}

function writeObject(obj: object, depth: number): boolean {
  if (objects >= SEEN_MAX) return false;
  for (let i = 0; i < objects; i++) if (seen[i] === obj) return false; // a repeated reference or a cycle
  seen[objects++] = obj;
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto === Array.prototype) return writeArray(obj as unknown[], depth);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = obj as Record<string, unknown>;
  // The entry count goes in front of the entries but is known only after them: write a one-byte
  // header (fewer than 16 entries, the usual case) and widen it afterwards if needed.
  reserve(1);
  const start = position++;
  let count = 0;
  for (const key in record) {
    if (key === '__proto__' || !writeString(key) || !write(record[key], depth + 1)) return false;
    count++;
  }
  if (count < 16) {
    buffer[start] = 0x80 | count;
  } else {
    const wider = count < 0x10000 ? 2 : 4;
    reserve(wider);
    buffer.copyWithin(start + 1 + wider, start + 1, position);
    position += wider;
    const end = position;
    position = start;
    writeHeader(count, 0x80, MAP16, MAP32);
    position = end;
  }
  return true;
}

function writeArray(array: unknown[], depth: number): boolean {
  const length = array.length;
  if (nodes + length > NODES_MAX) return false;
  writeHeader(length, 0x90, ARRAY16, ARRAY32);
  for (let i = 0; i < length; i++) {
    if (!(i in array) || !write(array[i], depth + 1)) return false; // a hole: v8.serialize keeps it
  }
  return Object.keys(array).length === length; // no extra properties: v8.serialize keeps those
}

/** Writes the header of a map or an array of `count` entries, in its narrowest form. */
function writeHeader(count: number, fix: number, wide16: number, wide32: number): void {
  reserve(5);
  if (count < 16) {
    buffer[position++] = fix | count;
  } else if (count < 0x10000) {
    buffer[position] = wide16;
    view.setUint16(position + 1, count);
    position += 3;
  } else {
    buffer[position] = wide32;
    view.setUint32(position + 1, count);
    position += 5;
  }
}

// ---------- decode ----------

let input: Uint8Array = new Uint8Array(0);
let inputBuffer: Buffer = Buffer.alloc(0);
let inputView: DataView = new DataView(new ArrayBuffer(0));
let at = 0;

// Object keys repeat from item to item: a small cache returns the same (internalised) string for the
// same short key bytes, so decoding `{ i, s }` allocates no key strings and V8 reuses the object shape.
const KEY_SLOTS = 4096;
const keyCache: (string | undefined)[] = new Array<string | undefined>(KEY_SLOTS).fill(undefined);

/** Decodes `length` bytes of `source` (from offset 0) written by `encodeCompact`. */
export function decodeCompact(source: Uint8Array, length: number): unknown {
  if (source !== input) {
    input = source;
    inputBuffer = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    inputView = new DataView(source.buffer, source.byteOffset, source.byteLength);
  }
  at = 0;
  const value = read();
  if (at !== length) throw misuse(Error, 'ERR_MP_CORRUPT_RECORD', `corrupt queue record: ${length} bytes, ${at} decoded`);
  return value;
}

function read(): unknown {
  const byte = input[at++];
  if (byte < 0x80) return byte;
  if (byte >= 0xe0) return byte - 0x100;
  if (byte < 0x90) return readMap(byte & 0x0f);
  if (byte < 0xa0) return readArray(byte & 0x0f);
  if (byte < 0xc0) return readString(byte & 0x1f);
  let n: number;
  switch (byte) {
    case NIL:
      return null;
    case UNDEFINED:
      return undefined;
    case FALSE:
      return false;
    case TRUE:
      return true;
    case FLOAT64:
      n = inputView.getFloat64(at);
      at += 8;
      return n;
    case UINT8:
      return input[at++];
    case UINT16:
      n = inputView.getUint16(at);
      at += 2;
      return n;
    case UINT32:
      n = inputView.getUint32(at);
      at += 4;
      return n;
    case INT8:
      return inputView.getInt8(at++);
    case INT16:
      n = inputView.getInt16(at);
      at += 2;
      return n;
    case INT32:
      n = inputView.getInt32(at);
      at += 4;
      return n;
    case STR8:
      return readString(input[at++]);
    case STR16:
      n = inputView.getUint16(at);
      at += 2;
      return readString(n);
    case STR32:
      n = inputView.getUint32(at);
      at += 4;
      return readString(n);
    case ARRAY16:
      n = inputView.getUint16(at);
      at += 2;
      return readArray(n);
    case ARRAY32:
      n = inputView.getUint32(at);
      at += 4;
      return readArray(n);
    case MAP16:
      n = inputView.getUint16(at);
      at += 2;
      return readMap(n);
    case MAP32:
      n = inputView.getUint32(at);
      at += 4;
      return readMap(n);
    default:
      throw misuse(Error, 'ERR_MP_CORRUPT_RECORD', `corrupt queue record: unexpected byte 0x${byte.toString(16)} at ${at - 1}`);
  }
}

function readString(bytes: number): string {
  const start = at;
  at += bytes;
  if (bytes <= 12) {
    // Short ASCII: build it from char codes, cheaper than a call into the UTF-8 decoder.
    let s = '';
    for (let i = start; i < at; i++) {
      const code = input[i];
      if (code >= 0x80) return inputBuffer.toString('utf8', start, at);
      s += String.fromCharCode(code);
    }
    return s;
  }
  return inputBuffer.toString('utf8', start, at);
}

function readKey(): string {
  const byte = input[at];
  if (byte < 0xa0 || byte >= 0xb0) return read() as string; // not a short string: no caching
  const bytes = byte & 0x1f;
  const start = at + 1;
  let hash = bytes;
  for (let i = start; i < start + bytes; i++) hash = (Math.imul(hash, 31) + input[i]) | 0;
  const slot = hash & (KEY_SLOTS - 1);
  const cached = keyCache[slot];
  if (cached !== undefined && cached.length === bytes) {
    let same = true;
    for (let i = 0; i < bytes; i++) {
      if (cached.charCodeAt(i) !== input[start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      at = start + bytes;
      return cached;
    }
  }
  at = start;
  const key = readString(bytes);
  if (key.length === bytes) keyCache[slot] = key; // ASCII only: then bytes and char codes match
  return key;
}

function readArray(length: number): unknown[] {
  const array: unknown[] = [];
  for (let i = 0; i < length; i++) array.push(read());
  return array;
}

function readMap(count: number): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = readKey(); // never '__proto__': the encoder leaves such objects to v8.serialize
    record[key] = read();
  }
  return record;
}
