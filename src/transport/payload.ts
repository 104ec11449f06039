/**
 * Values crossing between threads: structured clone, plus live shared objects, functions and class
 * instances. `pack.ts` sends and `unpack.ts` receives; this module holds what both share (the markers,
 * where a value goes, and the error for a value that cannot be cloned). One walk, three destinations
 * (`Via`):
 * - `'message'` (arguments, by `postMessage`): functions go by their wire form, `SharedArrayBuffer`s
 *   cross natively;
 * - `'result'` (a pool task's result, by `postMessage`): as `'message'`, but functions are not carried;
 * - `'bytes'` (queue items and pipe messages, written into a ring): `SharedArrayBuffer`s, alone or under
 *   a typed array, become program-wide ids (`runtime/thread/buffer-directory.ts`); functions are not carried.
 *
 * `pack` walks plain arrays, plain objects, `Map`s, `Set`s and the own fields of class instances whose
 * class can be located (`class-locate.ts`), and replaces shareable objects by their reduced form,
 * functions by their wire form, those instances by their class and fields, and errors of such a class
 * by their serialized form (`remote-error.ts`) with their class. It copies only the
 * branches it changes, so a payload with nothing to replace costs a walk and no allocation, and tells
 * the receiver (`live`) whether there is anything to unpack at all.
 *
 * @example
 * ```ts
 * const packed = pack([lock, { n: 1 }], 'args');        // pack.ts; packed.live === true
 * const [sameLock] = (await unpack(packed)) as [Lock]; // unpack.ts, in the worker: the same lock, live
 * ```
 */
import v8 from 'node:v8';
import { isShareable, type KindModule, type Reduced } from './shareable.js';
import type { WireFunction } from './wire-function.js';
import { misuse } from '../errors.js';
import type { BufferName } from '../runtime/buffer-names.js';
import { segmentRefOf } from '../runtime/process/segments.js';
import type { SerializedThrow } from './remote-error.js';

export const SHARED = '@@multiprocessing/shared';
export const FUNCTION = '@@multiprocessing/function';
export const INSTANCE = '@@multiprocessing/instance';
export const BUFFER = '@@multiprocessing/buffer';
export const ERROR = '@@multiprocessing/error';

/** Where a packed value goes (see the module header). */
export type Via = 'message' | 'result' | 'bytes';
/** How errors say where a value was going. */
export const DESTINATION: Readonly<Record<Via, string>> = { message: ' to a worker', result: ' back to the parent', bytes: '' };

export interface SharedMarker {
  readonly [SHARED]: Reduced;
  /** The kinds the receiver must be able to revive and their modules, so it can load just those. */
  readonly modules: readonly KindModule[];
}
export interface FunctionMarker {
  readonly [FUNCTION]: WireFunction;
}
export interface InstanceMarker {
  readonly [INSTANCE]: WireFunction;
  readonly fields: Record<string, unknown>;
}
/** An error of a class of the program's (`class-locate.ts`), as `remote-error.ts` serializes errors. */
export interface ErrorMarker {
  readonly [ERROR]: SerializedThrow;
}
export interface BufferMarker {
  /** The buffer's name in bytes (`runtime/buffer-names.ts`). */
  readonly [BUFFER]: BufferName;
  /** The typed array (or `DataView`) over the buffer, if it was one. */
  readonly view: string | null;
  readonly byteOffset: number;
  readonly length: number;
}

/** A value ready for `postMessage`; `live` tells the receiver it holds markers to unpack. */
export interface Packed {
  readonly value: unknown;
  readonly live: boolean;
}

export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The path of a property, element, map entry or set element, as every error of this library names it. */
export function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export function mapKeyLabel(key: unknown, index: number): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'number' || typeof key === 'boolean' ? String(key) : `<key ${index}>`;
}

/**
 * False when `value` certainly holds nothing for `pack` to replace: a primitive, or plain objects and
 * arrays of primitives nested at most three deep (a result, or a chunk of result records), checked
 * without allocating anything. True means "walk it": `pack` decides.
 */
export function mayNeedPacking(value: unknown): boolean {
  return !isPlainData(value, 3);
}

function isPlainData(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'function' && typeof value !== 'symbol';
  if (depth === 0) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth - 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key in value) if (!isPlainData(value[key], depth - 1)) return false;
  return true;
}

/** The views a shared buffer can travel under in bytes, by constructor name. */
export const VIEWS: Record<string, new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};

// ---- the error path: find what cannot be cloned, and where ---------------------------------------

function canClone(value: unknown): boolean {
  try {
    v8.serialize(value instanceof SharedArrayBuffer ? null : value);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${String(value.description)})`;
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor ? `a ${ctor}` : 'a value';
}

/** The part of a value that cannot be cloned: where it is, what it is, and why, in words. */
export interface Uncloneable {
  readonly path: string;
  readonly value: unknown;
  /** `it is a WeakMap, which cannot be structured-cloned`. */
  readonly reason: string;
}

/**
 * Finds the part of `value` that cannot be cloned, for an error message that names it
 * (`args[1].handler`, `item.m.get("k")`). Only called after a clone failed, so its cost does not matter.
 * Shared objects and shared memory are never the culprit between threads (they cross by reference),
 * but are across machines (`acrossMachines`).
 */
export function findUncloneable(value: unknown, path: string, acrossMachines = false): Uncloneable | undefined {
  const found = findPart(value, path, new Set(), acrossMachines);
  if (found === undefined) return undefined;
  const [where, culprit] = found;
  const shared = acrossMachines && isSharedMemory(culprit);
  return { path: where, value: culprit, reason: `it is ${describe(culprit)}, which cannot be ${shared ? 'shared across machines' : 'structured-cloned'}` };
}

/**
 * With `acrossMachines` (the distributed codec), shared objects and shared memory are the culprit too:
 * they are shared by reference within one machine only.
 */
function isSharedMemory(value: unknown): boolean {
  return (
    isShareable(value) ||
    value instanceof SharedArrayBuffer ||
    (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)
  );
}

function findPart(value: unknown, path: string, visited: Set<object>, acrossMachines: boolean): [string, unknown] | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return [path, value];
  if (acrossMachines && isSharedMemory(value)) return [path, value];
  if (typeof value !== 'object' || value === null || visited.has(value) || isShareable(value)) return undefined;
  visited.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPart(value[i], childPath(path, i), visited, acrossMachines);
      if (found) return found;
    }
  } else if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      const found = findPart(k, `${path}<key ${i}>`, visited, acrossMachines) ?? findPart(v, `${path}.get(${mapKeyLabel(k, i)})`, visited, acrossMachines);
      if (found) return found;
      i++;
    }
  } else if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const found = findPart(v, `${path}<element ${i++}>`, visited, acrossMachines);
      if (found) return found;
    }
  } else if (isPlainObject(value) || !canClone(value)) {
    for (const key of Object.keys(value)) {
      const found = findPart((value as Record<string, unknown>)[key], childPath(path, key), visited, acrossMachines);
      if (found) return found;
    }
  }
  return canClone(value) ? undefined : [path, value];
}

/**
 * The parts of a message as `pack` and `toWireFunction` made them (shared objects as markers holding their
 * reduced state, functions in their wire form), each under the name errors give it: `{ target, args }`.
 */
export type PackedParts = Readonly<Record<string, unknown>>;

/**
 * The error for a message that holds memory a process child cannot map (a shared object made under the
 * `'thread'` start method, or a `SharedArrayBuffer` of its own), naming the first such part by its path
 * (`args[0]`, `iterable[3].counter`, `target's constant hits`, for a constant a function takes along).
 * `cause` is the error the process codec threw; `base`, for a map chunk (one part: its items), the index
 * of its first item in the whole input.
 */
export function threadOnlyMemoryError(parts: PackedParts, cause: unknown, base?: number): TypeError {
  let found: ThreadOnly | undefined;
  for (const [path, packed] of Object.entries(parts)) {
    // A map chunk's items are named by their index in the whole input.
    found =
      base === undefined || !Array.isArray(packed)
        ? findThreadOnly(packed, path, new Set())
        : packed.reduce<ThreadOnly | undefined>((hit, item, i) => hit ?? findThreadOnly(item, `${path}[${base + i}]`, new Set()), undefined);
    if (found !== undefined) break;
  }
  const what = found === undefined ? 'it holds memory' : `it is ${found.what}`;
  return misuse(
    TypeError,
    'ERR_MP_UNCLONEABLE',
    `${found?.path ?? Object.keys(parts).join(' or ')} cannot be sent to a process child: ${what} made for this process only, which another ` +
      "process cannot map. A shared object used by 'process' children must be made in the 'process' context: " +
      "`const { Value, Lock } = getContext('process')`, or `setStartMethod('process')` before making it " +
      "(`new Pool({ context: 'process' })` picks the pool's start method only)",
    { cause },
  );
}

const isProcessShared = (buffer: SharedArrayBuffer): boolean => segmentRefOf(buffer) !== undefined;

interface ThreadOnly {
  readonly path: string;
  readonly what: string;
  /** Found among the constants a function takes along, which the path names. */
  readonly constant?: true;
}

// A function shipped with its module's constants (`function-ref.ts`), met as a marker in a value or
// as the wire form itself (a pool's `define`, a process target, a barrier's action in its state).
function constantsOf(value: object): Record<string, unknown> | undefined {
  const wire = (FUNCTION in value ? (value as FunctionMarker)[FUNCTION] : value) as Partial<Extract<WireFunction, { by: 'source' }>>;
  if (wire.by !== 'source' || typeof wire.expression !== 'string') return undefined;
  const values = wire.values?.value;
  return typeof values === 'object' && values !== null ? (values as Record<string, unknown>) : {};
}

function findThreadOnly(value: unknown, path: string, visited: Set<object>): ThreadOnly | undefined {
  if (value instanceof SharedArrayBuffer) return isProcessShared(value) ? undefined : { path, what: 'a SharedArrayBuffer' };
  if (ArrayBuffer.isView(value)) {
    return value.buffer instanceof SharedArrayBuffer && !isProcessShared(value.buffer) ? { path, what: `a ${value.constructor.name} over a SharedArrayBuffer` } : undefined;
  }
  if (typeof value !== 'object' || value === null || visited.has(value)) return undefined;
  visited.add(value);
  if (SHARED in value) {
    const { kind, state } = (value as SharedMarker)[SHARED];
    const inner = findThreadOnly(state, path, visited);
    // Its own memory makes the object the culprit; a constant of its function (a barrier's action) is named.
    return inner === undefined ? undefined : inner.constant ? inner : { path, what: `a ${kind.split('.').pop()}` };
  }
  // A class instance's own fields are named as the user wrote them (`args[0].counter`).
  if (INSTANCE in value) return findThreadOnly((value as InstanceMarker).fields, path, visited);
  const constants = isPlainObject(value) ? constantsOf(value) : undefined;
  if (constants !== undefined) {
    for (const name of Object.keys(constants)) {
      const found = findThreadOnly(constants[name], name, visited);
      if (found !== undefined) return { ...found, path: `${path}'s constant ${found.path}`, constant: true };
    }
    return undefined;
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((item, i) => [childPath(path, i), item])
    : value instanceof Map
      ? [...value].map(([key, item], i) => [`${path}.get(${mapKeyLabel(key, i)})`, item])
      : value instanceof Set
        ? [...value].map((item, i) => [`${path}<element ${i}>`, item])
        : Object.keys(value).map((key) => [childPath(path, key), (value as Record<string, unknown>)[key]]);
  for (const [where, item] of entries) {
    const found = findThreadOnly(item, where, visited);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The error for a chunk of a map (its items, or its results) that could not be cloned, naming the item
 * by its index in the whole input (`iterable[17].b`, `result[5000]`): `base` is the index of the
 * chunk's first item. Without an item that fails alone, the error for the chunk as a whole.
 */
export function chunkUncloneableError(items: readonly unknown[], base: number, path: string, cause: unknown, to = ' to a worker'): TypeError {
  for (let i = 0; i < items.length; i++) {
    try {
      structuredClone(items[i]);
    } catch (itemCause) {
      return uncloneableError(items[i], `${path}[${base + i}]`, itemCause, to);
    }
  }
  return uncloneableError(items, path, cause, to);
}

/**
 * The `TypeError` (code `ERR_MP_UNCLONEABLE`) for a value that could not be cloned: names the offending
 * path and what it is. `to` says where it was going (`' to a worker'`, `' back to the parent'`).
 */
export function uncloneableError(value: unknown, path: string, cause: unknown, to = ' to a worker'): TypeError & { code: 'ERR_MP_UNCLONEABLE' } {
  const found = findUncloneable(value, path);
  const cloneMessage = cause instanceof Error ? cause.message : String(cause);
  return misuse(
    TypeError,
    'ERR_MP_UNCLONEABLE',
    `${found?.path ?? path} cannot be sent${to}: ${found?.reason ?? `it is ${describe(value)}, which cannot be structured-cloned`} (${cloneMessage}). ` +
      `Send plain data (numbers, strings, arrays, objects, Map, Set, Date, typed arrays…), shared objects, ` +
      `or instances of a class a module exports.`,
    { cause },
  ) as TypeError & { code: 'ERR_MP_UNCLONEABLE' };
}
