/**
 * Sending side of values crossing between threads (see `payload.ts`): `pack` walks a value and
 * replaces shared objects, functions and class instances by markers that `unpack.ts` turns back.
 *
 * Functions and values refer to each other (a function shipped with its module's constants packs
 * them; a packed value holds functions), so this module composes the two: `toWireFunction` is
 * `function-ref.ts`'s analysis with `pack` for its constants.
 */
import { isShareable, kindsToLoad, revive, reduce } from './shareable.js';
import { placedWireFunctionOf, wireFunctionOf, type FunctionReference, type WireFunction } from './function-ref.js';
import { wireClassOf, wireErrorClassOf } from './class-locate.js';
import { serializeThrown } from './remote-error.js';
import { nameOfBuffer } from '../runtime/buffer-names.js';
import { misuse } from '../errors.js';
import {
  BUFFER,
  DESTINATION,
  ERROR,
  FUNCTION,
  INSTANCE,
  SHARED,
  VIEWS,
  childPath,
  isPlainObject,
  mapKeyLabel,
  uncloneableError,
  type BufferMarker,
  type ErrorMarker,
  type FunctionMarker,
  type InstanceMarker,
  type Packed,
  type SharedMarker,
  type Via,
} from './payload.js';
import { unpackNow } from './unpack.js';

/**
 * Turns a function (or an explicit `{ module, name }` reference) into what crosses into a worker, or
 * throws a `TypeError` that says why it cannot and how to fix it. `role` names it in messages.
 */
export function toWireFunction(fn: Function | FunctionReference, role: string): WireFunction {
  return wireFunctionOf(fn, role, pack);
}

/**
 * `toWireFunction` for a function whose child prints its own errors (a `Process` target): one shipped
 * by source takes along where it sits in the user's file (`placedWireFunctionOf`).
 */
export function toPlacedWireFunction(fn: Function | FunctionReference, role: string): WireFunction {
  return placedWireFunctionOf(fn, role, pack);
}

/**
 * How the class of an error (thrown, or inside a value) crosses, when it is a class of the program's
 * that can be located (`class-locate.ts`); for `serializeThrown`.
 */
export function errorClassWire(error: Error): WireFunction | undefined {
  return wireErrorClassOf(error, toWireFunction);
}

interface PackState {
  live: boolean;
  readonly via: Via;
  readonly seen: Map<object, unknown>;
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
  (revive({ kind: reduced.kind, state: unpackNow(reduced.state) }) as { close(): void }).close();
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

function bufferMarker(value: object, state: PackState): BufferMarker | undefined {
  if (value instanceof SharedArrayBuffer) {
    state.live = true;
    return { [BUFFER]: nameOfBuffer(value), view: null, byteOffset: 0, length: value.byteLength };
  }
  if (!ArrayBuffer.isView(value) || !(value.buffer instanceof SharedArrayBuffer)) return undefined;
  const name = Object.getPrototypeOf(value) === Buffer.prototype ? 'Uint8Array' : value.constructor.name;
  if (!(name in VIEWS)) return undefined;
  state.live = true;
  const length = value instanceof DataView ? value.byteLength : (value as unknown as { length: number }).length;
  return { [BUFFER]: nameOfBuffer(value.buffer), view: name, byteOffset: value.byteOffset, length };
}

// Python's queues pickle a module's function by reference, and its unpickling imports the module; here
// taking an item out is synchronous (a blocking get()), and loading a module is not.
function functionInQueueError(fn: Function, path: string): TypeError {
  const name = fn.name === '' ? 'a function' : `a function (${fn.name})`;
  return misuse(
    TypeError,
    'ERR_MP_UNCLONEABLE',
    `${path} is ${name}, which cannot travel through a queue or a pipe: taking an item out is synchronous, and ` +
      'loading a function on the other side may need its module loaded, which is not. Put a name instead, and look ' +
      'the function up on the other side (in an object both sides import), or pass the function as a task argument ' +
      '(`pool.apply(fn, args)`, `new Process({ target })`), which can carry it.',
  );
}

function packValue(value: unknown, path: string, state: PackState): unknown {
  if (typeof value === 'function') {
    if (state.via === 'bytes') throw functionInQueueError(value, path);
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
  if (value instanceof Error && errorClassWire(value) !== undefined) {
    // Structured clone would keep only its message (and lose its class and properties).
    state.live = true;
    const marker: ErrorMarker = { [ERROR]: serializeThrown(value, errorClassWire) };
    state.seen.set(value, marker);
    return marker;
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Error) return value;
  const wire = wireClassOf(value, toWireFunction);
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

