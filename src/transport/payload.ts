/**
 * Values crossing between threads: structured clone, plus live shared objects, functions and class
 * instances. One walk, three destinations (`Via`):
 * - `'message'` (arguments, by `postMessage`): functions go by their wire form, `SharedArrayBuffer`s
 *   cross natively;
 * - `'result'` (a pool task's result, by `postMessage`): as `'message'`, but functions are not carried;
 * - `'bytes'` (queue items and pipe messages, written into a ring): `SharedArrayBuffer`s, alone or under
 *   a typed array, become program-wide ids (`shared-buffers.ts`); functions are not carried.
 *
 * `pack` walks plain arrays, plain objects, `Map`s, `Set`s and the own fields of class instances whose
 * class can be located (`class-ref.ts`), and replaces shareable objects by their reduced form,
 * functions by their wire form and those instances by their class and fields. It copies only the
 * branches it changes, so a payload with nothing to replace costs a walk and no allocation, and tells
 * the receiver (`live`) whether there is anything to unpack at all.
 *
 * @example
 * ```ts
 * const packed = pack([lock, { n: 1 }], 'args'); // packed.live === true
 * const [sameLock] = (await unpack(packed)) as [Lock]; // in the worker: the same lock, live
 * ```
 */
import v8 from 'node:v8';
import { canRevive, isShareable, kindsToLoad, revive, reduce, type KindModule, type Reduced } from './shareable.js';
import { resolveWireFunction, toWireFunction, type WireFunction } from './function-ref.js';
import { classNow, resolveClass, wireClassOf } from './class-ref.js';
import { bufferById, bufferId } from './shared-buffers.js';
import { misuse } from '../errors.js';
import { beforeImport } from '../runtime/typescript-hooks.js';

const SHARED = '@@multiprocessing/shared';
const FUNCTION = '@@multiprocessing/function';
const INSTANCE = '@@multiprocessing/instance';
const BUFFER = '@@multiprocessing/buffer';

/** Where a packed value goes (see the module header). */
export type Via = 'message' | 'result' | 'bytes';
/** How errors say where a value was going. */
export const DESTINATION: Readonly<Record<Via, string>> = { message: ' to a worker', result: ' back to the parent', bytes: '' };

interface SharedMarker {
  readonly [SHARED]: Reduced;
  /** The kinds the receiver must be able to revive and their modules, so it can load just those. */
  readonly modules: readonly KindModule[];
}
interface FunctionMarker {
  readonly [FUNCTION]: WireFunction;
}
interface InstanceMarker {
  readonly [INSTANCE]: WireFunction;
  readonly fields: Record<string, unknown>;
}
interface BufferMarker {
  readonly [BUFFER]: number;
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

interface PackState {
  live: boolean;
  readonly via: Via;
  readonly seen: Map<object, unknown>;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The path of a property, element, map entry or set element, as every error of this library names it. */
export function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function mapKeyLabel(key: unknown, index: number): string {
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

/** Prepares `value` to cross; `path` names it in errors (`'args'`), `via` says where it goes. */
export function pack(value: unknown, path: string, via: Via = 'message'): Packed {
  const state: PackState = { live: false, via, seen: new Map() };
  try {
    const packed = packValue(value, path, state);
    return { value: packed, live: state.live };
  } catch (error) {
    for (const marker of state.seen.values()) discardMarker(marker);
    throw error;
  }
}

// Reducing a Connection counts a new handle of its end, owned by the copy to be revived. When the value
// does not get sent after all, that handle is closed here, or the other end would never see EOF.
function discardMarker(marker: unknown): void {
  if (typeof marker !== 'object' || marker === null || !(SHARED in marker)) return;
  const reduced = (marker as SharedMarker)[SHARED];
  if (reduced.kind !== 'Connection') return;
  (revive({ kind: reduced.kind, state: unpackValue(reduced.state, [], new Map()) }) as { close(): void }).close();
}

/** Undoes what `pack` counted (the handles of connections in it) for a value that was not sent. */
export function discardPacked(packed: Packed): void {
  if (!packed.live) return;
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (SHARED in value) return discardMarker(value);
    if (INSTANCE in value) return visit((value as InstanceMarker).fields);
    if (value instanceof Map) for (const [k, v] of value) (visit(k), visit(v));
    else if (value instanceof Set) for (const v of value) visit(v);
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else if (isPlainObject(value)) for (const key of Object.keys(value)) visit(value[key]);
  };
  visit(packed.value);
}

const VIEWS: Record<string, new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
};

function bufferMarker(value: object, state: PackState): BufferMarker | undefined {
  if (value instanceof SharedArrayBuffer) {
    state.live = true;
    return { [BUFFER]: bufferId(value), view: null, byteOffset: 0, length: value.byteLength };
  }
  if (!ArrayBuffer.isView(value) || !(value.buffer instanceof SharedArrayBuffer)) return undefined;
  const name = Object.getPrototypeOf(value) === Buffer.prototype ? 'Uint8Array' : value.constructor.name;
  if (!(name in VIEWS)) return undefined;
  state.live = true;
  const length = value instanceof DataView ? value.byteLength : (value as unknown as { length: number }).length;
  return { [BUFFER]: bufferId(value.buffer), view: name, byteOffset: value.byteOffset, length };
}

function packValue(value: unknown, path: string, state: PackState): unknown {
  if (typeof value === 'function') {
    if (state.via !== 'message') throw uncloneableError(value, path, 'a function is not data', DESTINATION[state.via]);
    state.live = true;
    const marker: FunctionMarker = { [FUNCTION]: toWireFunction(value, path) };
    return marker;
  }
  if (typeof value === 'symbol') {
    if (state.via !== 'message') throw uncloneableError(value, path, 'a symbol is not data', DESTINATION[state.via]);
    throw misuse(TypeError, 'ERR_MP_UNCLONEABLE', `${path} is a symbol, which cannot be sent to a worker. Send a string instead.`);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (state.seen.has(value)) return state.seen.get(value);
  if (isShareable(value)) {
    state.live = true;
    const reduced = value[reduce]();
    const shipped = state.via === 'bytes' ? { kind: reduced.kind, state: packValue(reduced.state, path, state) } : reduced;
    const marker: SharedMarker = { [SHARED]: shipped, modules: kindsToLoad(reduced.kind) };
    state.seen.set(value, marker);
    return marker;
  }
  const isArray = Array.isArray(value);
  if (isArray || isPlainObject(value)) return packContainer(value, isArray, path, state);
  if (value instanceof Map || value instanceof Set) return packCollection(value, path, state);
  if (state.via === 'bytes') {
    const marker = bufferMarker(value, state);
    if (marker !== undefined) return marker;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Error) return value;
  const wire = wireClassOf(value);
  if (wire === undefined) return value;
  state.live = true;
  const fields: Record<string, unknown> = {};
  const marker: InstanceMarker = { [INSTANCE]: wire, fields };
  state.seen.set(value, marker);
  for (const key of Object.keys(value)) fields[key] = packValue((value as Record<string, unknown>)[key], childPath(path, key), state);
  return marker;
}

function packContainer(value: unknown[] | Record<string, unknown>, isArray: boolean, path: string, state: PackState): unknown {
  state.seen.set(value, value);
  let copy: unknown[] | Record<string, unknown> | undefined;
  if (isArray) {
    const array = value as unknown[];
    for (let i = 0; i < array.length; i++) {
      const item: unknown = array[i];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue;
      const packed = packValue(item, childPath(path, i), state);
      if (packed !== item) {
        if (copy === undefined) {
          copy = array.slice();
          state.seen.set(value, copy);
        }
        (copy as unknown[])[i] = packed;
      }
    }
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue;
      const packed = packValue(item, childPath(path, key), state);
      if (packed !== item) {
        if (copy === undefined) {
          copy = Object.getPrototypeOf(record) === null ? Object.assign(Object.create(null) as object, record) : { ...record };
          state.seen.set(value, copy);
        }
        (copy as Record<string, unknown>)[key] = packed;
      }
    }
  }
  return copy ?? value;
}

// A Map or Set is rebuilt only when one of its keys or values changed.
function packCollection(value: Map<unknown, unknown> | Set<unknown>, path: string, state: PackState): unknown {
  state.seen.set(value, value);
  const entries: [unknown, unknown][] = [];
  let changed = false;
  let i = 0;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const pk = packValue(k, `${path}<key ${i}>`, state);
      const pv = packValue(v, `${path}.get(${mapKeyLabel(k, i)})`, state);
      changed ||= pk !== k || pv !== v;
      entries.push([pk, pv]);
      i++;
    }
  } else {
    for (const v of value) {
      const pv = packValue(v, `${path}<element ${i++}>`, state);
      changed ||= pv !== v;
      entries.push([pv, pv]);
    }
  }
  if (!changed) return value;
  const copy = value instanceof Map ? new Map(entries) : new Set(entries.map(([v]) => v));
  state.seen.set(value, copy);
  return copy;
}

// ---- receiving -----------------------------------------------------------------------------------

// Shared classes register their revivers when their modules load. A worker imports the modules of the
// kinds it receives, when it first receives them; a queue or a pipe names every kind its sender knew,
// since its items are revived synchronously when read (`kindsToLoad`).
async function importKindModule(url: string): Promise<unknown> {
  await beforeImport(url);
  return import(url);
}

function loadRevivers(value: unknown, loads: Map<string, Promise<unknown>>, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (SHARED in value) {
    const marker = value as SharedMarker;
    for (const [kind, url] of marker.modules) if (!canRevive(kind) && !loads.has(kind)) loads.set(kind, importKindModule(url));
    return;
  }
  if (INSTANCE in value) return loadRevivers((value as InstanceMarker).fields, loads, seen);
  if (value instanceof Map) for (const [k, v] of value) (loadRevivers(k, loads, seen), loadRevivers(v, loads, seen));
  else if (value instanceof Set) for (const v of value) loadRevivers(v, loads, seen);
  else if (Array.isArray(value)) for (const item of value) loadRevivers(item, loads, seen);
  else if (isPlainObject(value)) for (const key of Object.keys(value)) loadRevivers(value[key], loads, seen);
}

/** Work left after a synchronous unpack: functions to import and classes to load. */
type Pending = Promise<void>[];

/** Rebuilds what `pack` made: shared objects come back live, functions callable, instances of their class. */
export async function unpack(packed: Packed): Promise<unknown> {
  if (!packed.live) return packed.value;
  const loads = new Map<string, Promise<unknown>>();
  loadRevivers(packed.value, loads, new Set());
  if (loads.size > 0) await Promise.all(loads.values());
  const top = packed.value;
  if (typeof top === 'object' && top !== null && FUNCTION in top) return resolveWireFunction((top as FunctionMarker)[FUNCTION]);
  const pending: Pending = [];
  const result = unpackValue(packed.value, pending, new Map());
  await Promise.all(pending);
  return result;
}

/**
 * `unpack` without waiting, for a value read synchronously (a queue item, a pool result): every
 * reviver must be registered already. An instance whose class this thread has not loaded yet is
 * returned as its fields; `later`, if given, receives the promise that gives it its class.
 */
export function unpackNow(value: unknown, later?: (settled: Promise<void>) => void): unknown {
  const pending: Pending = [];
  const result = unpackValue(value, pending, new Map());
  if (pending.length > 0) {
    const settled = Promise.all(pending).then(() => undefined);
    if (later !== undefined) later(settled);
    else settled.catch(() => {}); // the fields arrived; the class could not be loaded
  }
  return result;
}

function unpackBuffer(marker: BufferMarker): unknown {
  const buffer = bufferById(marker[BUFFER]);
  return marker.view === null ? buffer : new VIEWS[marker.view]!(buffer, marker.byteOffset, marker.length);
}

function unpackValue(value: unknown, pending: Pending, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (SHARED in value) {
    const reduced = (value as SharedMarker)[SHARED];
    const live = revive({ kind: reduced.kind, state: unpackValue(reduced.state, pending, seen) });
    seen.set(value, live);
    return live;
  }
  if (BUFFER in value) {
    const buffer = unpackBuffer(value as BufferMarker);
    seen.set(value, buffer);
    return buffer;
  }
  if (INSTANCE in value) {
    const marker = value as InstanceMarker;
    const instance = marker.fields;
    seen.set(value, instance);
    unpackValue(instance, pending, seen);
    const wire = marker[INSTANCE];
    const found = classNow(wire);
    if (found !== undefined) Object.setPrototypeOf(instance, found.prototype as object);
    else pending.push(resolveClass(wire).then((cls) => void Object.setPrototypeOf(instance, cls.prototype as object)));
    return instance;
  }
  seen.set(value, value);
  if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [k, v] of entries) {
      const key = unpackValue(k, pending, seen);
      value.set(key, unpackValue(v, pending, seen));
      if (typeof v === 'object' && v !== null && FUNCTION in v) {
        pending.push(resolveWireFunction((v as FunctionMarker)[FUNCTION]).then((fn) => void value.set(key, fn)));
      }
    }
    return value;
  }
  if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const v of items) value.add(unpackValue(v, pending, seen));
    return value;
  }
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return value;
  const container = value as Record<string | number, unknown>;
  for (const key of isArray ? value.keys() : Object.keys(value)) {
    const item = container[key];
    if (typeof item !== 'object' || item === null) continue;
    if (FUNCTION in item) {
      pending.push(
        resolveWireFunction((item as FunctionMarker)[FUNCTION]).then((fn) => {
          container[key] = fn;
        }),
      );
    } else {
      container[key] = unpackValue(item, pending, seen);
    }
  }
  return value;
}

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
 * Shared objects and shared memory are never the culprit: they cross by reference.
 */
export function findUncloneable(value: unknown, path: string): Uncloneable | undefined {
  const found = findPart(value, path, new Set());
  if (found === undefined) return undefined;
  const [where, culprit] = found;
  return { path: where, value: culprit, reason: `it is ${describe(culprit)}, which cannot be structured-cloned` };
}

function findPart(value: unknown, path: string, visited: Set<object>): [string, unknown] | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') return [path, value];
  if (typeof value !== 'object' || value === null || visited.has(value) || isShareable(value)) return undefined;
  visited.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findPart(value[i], childPath(path, i), visited);
      if (found) return found;
    }
  } else if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      const found = findPart(k, `${path}<key ${i}>`, visited) ?? findPart(v, `${path}.get(${mapKeyLabel(k, i)})`, visited);
      if (found) return found;
      i++;
    }
  } else if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const found = findPart(v, `${path}<element ${i++}>`, visited);
      if (found) return found;
    }
  } else if (isPlainObject(value) || !canClone(value)) {
    for (const key of Object.keys(value)) {
      const found = findPart((value as Record<string, unknown>)[key], childPath(path, key), visited);
      if (found) return found;
    }
  }
  return canClone(value) ? undefined : [path, value];
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
