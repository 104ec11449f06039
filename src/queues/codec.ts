/**
 * How queue items and pipe messages become bytes, and back.
 *
 * Three codecs, chosen per item and recorded in a 2-bit tag next to the record:
 * - `PLAIN`: the compact codec (`compact.ts`), for small trees of plain objects, arrays, strings,
 *   numbers, booleans, `null` and `undefined` (the hot path: `{ i, s: 'item-1' }` encodes in about
 *   70 ns once optimised, under half of what msgpackr took here);
 * - `CLONE`: msgpackr with records and its structured-clone extension, for the other values it carries
 *   exactly: `Map`, `Set`, `Date`, `RegExp`, `bigint`, binary data, and larger acyclic graphs (it keeps
 *   shared references);
 * - `V8`: `v8.serialize`, the exact structured clone, for everything msgpackr would not carry exactly:
 *   `-0` inside `Map`s and `Set`s, strings with lone surrogates, `__proto__` keys, holes in arrays,
 *   extra array properties, boxed primitives, `Error`s, invalid dates, class instances, cycles and
 *   repeated references in small values, and very large or deep values.
 *
 * Shared objects (`Value`, `Lock`, `Queue`, `Connection`…), `SharedArrayBuffer`s and instances of
 * located classes (see `payload.ts`) are never plain, so they reach the `V8` codec: there, and only
 * there, the item is packed, its shared memory named by program-wide ids (`runtime/thread/buffer-directory.ts`), and the
 * record starts with `LIVE` instead of V8's version byte, telling the receiver to unpack it. Plain items
 * pay nothing for this.
 *
 * A value that cannot be structured-cloned at all (a function, a symbol, a `WeakMap`…) throws a
 * `TypeError` naming its path, such as `item.handler`.
 *
 * @example
 * ```ts
 * const { bytes, length, tag } = encode({ i: 1, s: 'item-1' });
 * decode(tag, bytes, length); // { i: 1, s: 'item-1' }
 * ```
 */
import type { Packr } from 'msgpackr';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { uncloneableError, type Packed } from '../transport/payload.js';
import { discardPacked, pack } from '../transport/pack.js';
import { unheardBuffers, unpackNow } from '../transport/unpack.js';
import { heardOf, notHeardOf } from '../runtime/buffer-names.js';
import { compactBuffer, decodeCompact, encodeCompact } from './compact.js';

/** Codec tags (2 bits). */
export const PLAIN = 0;
export const CLONE = 1;
export const V8 = 2;
/** Raw bytes (`Connection.sendBytes`): no codec. */
export const BYTES = 3;

// msgpackr (and its native extension) load on the first item the compact codec does not take, not
// when the library loads: a program that never sends such an item does not pay for them.
let packer: Packr | undefined;
function loadPacker(): Packr {
  if (packer === undefined) {
    const { Packr: PackrClass } = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
    packer = new PackrClass({ useBigIntExtension: true, mapsAsObjects: false, copyBuffers: true, moreTypes: true, structuredClone: true });
  }
  return packer;
}

/** What `encode` returns; one object reused for every call (read it before encoding again). */
export interface Encoded {
  /** Holds the encoding in its first `length` bytes (it may be a reused, larger buffer). */
  bytes: Uint8Array;
  length: number;
  tag: number;
}
const out: Encoded = { bytes: new Uint8Array(0), length: 0, tag: PLAIN };

// Classification state for one walk. Small values are checked for repeated objects with a short list
// (no allocation); past SEEN_MAX objects we stop tracking and rely on the depth limit to catch cycles.
const SEEN_MAX = 32;
const DEPTH_MAX = 48;
const NODES_MAX = 4096;
const seen: (object | undefined)[] = [];
let nodes = 0;
let objects = 0;

const TYPED_ARRAY_PROTOS = new Set<object>(
  [
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
  ].map((C) => C.prototype as object),
);

/** True when msgpackr carries `value` exactly; false means "use v8". */
function safe(value: unknown, depth: number): boolean {
  if (++nodes > NODES_MAX) return false;
  switch (typeof value) {
    case 'number':
      return value !== 0 || 1 / value > 0;
    case 'string':
      return value.isWellFormed(); // msgpackr writes UTF-8: a lone surrogate would become U+FFFD
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return true;
    case 'object':
      break;
    default:
      return false; // function, symbol: v8 reports them
  }
  if (value === null) return true;
  if (depth > DEPTH_MAX) return false;
  const obj = value as object;
  if (objects < SEEN_MAX) {
    for (let i = 0; i < objects; i++) if (seen[i] === obj) return false;
    seen[objects] = obj;
  }
  objects++;
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto === Object.prototype || proto === null) {
    const record = obj as Record<string, unknown>;
    for (const key in record) {
      if (key === '__proto__' || !key.isWellFormed() || !safe(record[key], depth + 1)) return false;
    }
    return true;
  }
  if (proto === Array.prototype) {
    const array = obj as unknown[];
    const n = array.length;
    if (nodes + n > NODES_MAX) return false;
    for (let i = 0; i < n; i++) {
      if (!(i in array) || !safe(array[i], depth + 1)) return false;
    }
    return Object.keys(array).length === n; // no extra properties
  }
  if (proto === Map.prototype) {
    for (const [k, v] of obj as Map<unknown, unknown>) if (!safe(k, depth + 1) || !safe(v, depth + 1)) return false;
    return true;
  }
  if (proto === Set.prototype) {
    for (const v of obj as Set<unknown>) if (!safe(v, depth + 1)) return false;
    return true;
  }
  if (proto === Date.prototype) return !Number.isNaN((obj as Date).getTime());
  if (proto === RegExp.prototype) return true;
  if (proto === ArrayBuffer.prototype) return true;
  if (TYPED_ARRAY_PROTOS.has(proto as object) || proto === Buffer.prototype) {
    return !((obj as ArrayBufferView).buffer instanceof SharedArrayBuffer);
  }
  return false;
}

/**
 * Encodes `item` into bytes and a codec tag. Throws a `TypeError` naming the path (`item.handler`) when
 * the value cannot be structured-cloned; nothing is changed then.
 */
export function encode(item: unknown, name = 'item'): Encoded {
  const length = encodeCompact(item);
  if (length >= 0) {
    out.bytes = compactBuffer();
    out.length = length;
    out.tag = PLAIN;
    return out;
  }
  nodes = 0;
  objects = 0;
  let ok: boolean;
  try {
    ok = safe(item, 0);
  } finally {
    // Clear the slots used, keeping the array's storage (truncating it reallocated it on every item).
    for (let i = Math.min(objects, SEEN_MAX) - 1; i >= 0; i--) seen[i] = undefined;
  }
  if (ok) {
    out.bytes = (packer ?? loadPacker()).pack(item);
    out.tag = CLONE;
  } else {
    out.bytes = serializeV8(item, name);
    out.tag = V8;
  }
  out.length = out.bytes.length;
  return out;
}

// First byte of a V8 record holding shared objects; v8.serialize output always starts with 0xff.
const LIVE = 0x01;

function serializeV8(item: unknown, name: string): Uint8Array {
  let packed: Packed | undefined;
  try {
    packed = pack(item, name, 'bytes');
    if (!packed.live) return v8.serialize(item);
    const body = v8.serialize(packed.value);
    const bytes = new Uint8Array(body.length + 1);
    bytes[0] = LIVE;
    bytes.set(body, 1);
    return bytes;
  } catch (error) {
    if (packed !== undefined) discardPacked(packed);
    if (String((error as { code?: unknown }).code).startsWith('ERR_MP_')) throw error; // a closed handle, say
    throw uncloneableError(item, name, error, '');
  }
}

/**
 * For an encoded item that was not put after all (timed out, shut down…): closes the handles its
 * connections counted (see `discardPacked`). Costs nothing for items without shared objects.
 */
export function discardEncoded(tag: number, bytes: Uint8Array, length: number): void {
  if (tag !== V8 || bytes[0] !== LIVE) return;
  discardPacked({ value: v8.deserialize(bytes.subarray(1, length)), live: true });
}

// Set by the last decode that left work for the event loop (see `takeUnfinished`).
let unfinished: Promise<unknown> | undefined;

/**
 * After a decode: a promise for the last item made whole, when the event loop had to run first (an
 * async `get` awaits it; a blocking one returns at once, or throws). That is, to give its class instances
 * a class this thread had not loaded yet (a blocking get returns their fields), or, on Bun and Deno
 * with `canWait`, to hear of the shared memory it names (see `decodeLive`). Undefined when the decode
 * returned the item whole. Read once.
 */
export function takeUnfinished(): Promise<unknown> | undefined {
  const pending = unfinished;
  unfinished = undefined;
  return pending;
}

/**
 * Decodes `length` bytes of `source` (from offset 0) written by `encode` with `tag`. `canWait`: the
 * caller awaits `takeUnfinished()` (an async get), so an item that needs news first may be returned
 * through it instead of failing.
 */
export function decode(tag: number, source: Uint8Array, length: number, canWait = false): unknown {
  unfinished = undefined;
  switch (tag) {
    case PLAIN:
      return decodeCompact(source, length);
    case CLONE:
      return (packer ?? loadPacker()).unpack(source, length);
    case V8:
      if (source[0] !== LIVE) return v8.deserialize(source.subarray(0, length));
      return decodeLive(v8.deserialize(source.subarray(1, length)), canWait);
    default:
      return source.slice(0, length);
  }
}

/**
 * Revives a packed item whole or not at all. Where a thread hears of shared memory only on its event
 * loop (Bun, Deno), an item naming memory it has not heard of yet is revived once the news has come for
 * a caller that can wait; a blocking one refuses it before anything in it is revived (a revived
 * Connection counts a handle). Once taken the item is this caller's: a refused item, or one whose news
 * never comes (the wait times out), is lost.
 */
function decodeLive(packed: unknown, canWait: boolean): unknown {
  const unheard = unheardBuffers(packed);
  if (unheard.length === 0) {
    const [value, whole] = reviveLive(packed);
    unfinished = whole;
    return value;
  }
  if (!canWait) {
    // This reader loses the item. Its connections' handles, counted as their sender's while in flight,
    // are let go once the news has come (when this thread's event loop runs), or their ends never close.
    heardOf(unheard).then(
      () => discardPacked({ value: packed, live: true }),
      () => {},
    );
    throw notHeardOf(unheard[0]!);
  }
  unfinished = heardOf(unheard).then(() => {
    const [value, whole] = reviveLive(packed);
    return whole ?? value;
  });
  return undefined;
}

/** `unpackNow` of an item, and a promise for it once its instances have their class, if one must load. */
function reviveLive(packed: unknown): [value: unknown, whole: Promise<unknown> | undefined] {
  let whole: Promise<unknown> | undefined;
  const value = unpackNow(packed, (settled) => {
    whole = settled.then(
      () => value,
      () => value, // a class that cannot load leaves its instances plain
    );
  });
  return [value, whole];
}
