/**
 * Receiving side of values crossing between threads (see `payload.ts`): `unpack` turns the markers
 * that `pack.ts` made back into live shared objects, functions and class instances (errors among
 * them); `unpackThrown` gives a thrown error its class of the program's the same way.
 *
 * Functions and values refer to each other (a function's constants are packed values; a packed value
 * holds functions), so this module composes the two: `resolveWireFunction` is `function-resolve.ts`
 * with `unpack` for a function's constants.
 */
import { canRevive, revive } from './shareable.js';
import { resolveFunction } from './function-resolve.js';
import { classNow, resolveClass } from './class-ref.js';
import { deserializeThrown, type SerializedThrow } from './remote-error.js';
import { bufferNamed, namesNotYetHeard, type BufferName } from '../runtime/buffer-names.js';
import { beforeImport } from '../runtime/typescript-hooks.js';
import { importModule } from '../runtime/import-module.js';
import type { WireFunction } from './wire-function.js';
import {
  BUFFER,
  ERROR,
  FUNCTION,
  INSTANCE,
  SHARED,
  VIEWS,
  isPlainObject,
  type BufferMarker,
  type ErrorMarker,
  type FunctionMarker,
  type InstanceMarker,
  type Packed,
  type SharedMarker,
} from './payload.js';

/** Compiles or imports a function sent by `toWireFunction` (`pack.ts`). Cached per thread. */
export function resolveWireFunction(wire: WireFunction): Promise<Function> {
  return resolveFunction(wire, unpack);
}

// Shared classes register their revivers when their modules load. A worker imports the modules of the
// kinds it receives, when it first receives them; a queue or a pipe names every kind its sender knew,
// since its items are revived synchronously when read (`kindsToLoad`).
async function importKindModule(url: string): Promise<unknown> {
  await beforeImport(url);
  return importModule(url);
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
  if (ERROR in value) return; // plain data and classes, which are loaded as they are adopted
  if (value instanceof Map) for (const [k, v] of value) (loadRevivers(k, loads, seen), loadRevivers(v, loads, seen));
  else if (value instanceof Set) for (const v of value) loadRevivers(v, loads, seen);
  else if (Array.isArray(value)) for (const item of value) loadRevivers(item, loads, seen);
  else if (isPlainObject(value)) for (const key of Object.keys(value)) loadRevivers(value[key], loads, seen);
}

/** Work left after a synchronous unpack: functions to import, classes to load, a revived object's own (`Reviver`). */
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
 * returned as its fields; `later`, if given, receives the promise that gives it its class (and
 * finishes what revived shared objects still load, such as a barrier's action).
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

/**
 * Gives `target` (an instance's fields, a rebuilt error) the class `wire` names: at once when this
 * thread has it, else once loaded (`pending`).
 */
function adoptClass(target: object, wire: WireFunction, pending: Pending): void {
  const found = classNow(wire);
  if (found !== undefined) Object.setPrototypeOf(target, found.prototype as object);
  else pending.push(resolveClass(wire, resolveWireFunction).then((cls) => void Object.setPrototypeOf(target, cls.prototype as object)));
}

/**
 * Rebuilds a thrown value (`deserializeThrown`), giving its errors the classes of the program's they
 * carry where this thread has them now: `loadThrownClasses` first loads the others.
 */
export function unpackThrown(serialized: SerializedThrow): unknown {
  return deserializeThrown(serialized, (error, wire) => {
    const found = classNow(wire);
    if (found !== undefined) Object.setPrototypeOf(error, found.prototype as object);
  });
}

/**
 * Loads the classes that thrown values carry (see `unpackThrown`) and this thread does not have yet;
 * undefined when it has them all. Settles when every load has, whether or not it succeeded.
 */
export function loadThrownClasses(serialized: readonly SerializedThrow[]): Promise<void> | undefined {
  const pending: Pending = [];
  const visit = (thrown: SerializedThrow | undefined, depth: number): void => {
    if (thrown?.type !== 'error' || depth > 32) return;
    if (thrown.wire !== undefined && classNow(thrown.wire) === undefined) pending.push(resolveClass(thrown.wire, resolveWireFunction).then(() => undefined));
    visit(thrown.cause, depth + 1);
    for (const inner of thrown.errors ?? []) visit(inner, depth + 1);
  };
  for (const thrown of serialized) visit(thrown, 0);
  return pending.length === 0 ? undefined : Promise.allSettled(pending).then(() => undefined);
}

/**
 * The ids of the shared memory that `value` (as `pack` made it for bytes) names and this thread has not
 * heard of yet: none, and no walk, on Node (`namesNotYetHeard`). On Bun and Deno, `unpackNow` of such a
 * value would fail part way (a Connection revived and counted, then a Lock not found): a reader waits
 * for `heardOf` them first (an async get), or refuses the whole item (`notHeardOf`, a blocking one).
 */
export function unheardBuffers(value: unknown): number[] {
  return namesNotYetHeard(() => bufferNamesIn(value, [], new Set()));
}

/** The names of the buffers in a packed value, those of its shared objects' states included. */
function bufferNamesIn(value: unknown, names: BufferName[], seen: Set<object>): BufferName[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return names;
  seen.add(value);
  if (BUFFER in value) names.push((value as BufferMarker)[BUFFER]);
  else if (SHARED in value) bufferNamesIn((value as SharedMarker)[SHARED].state, names, seen);
  else if (INSTANCE in value) bufferNamesIn((value as InstanceMarker).fields, names, seen);
  else if (ERROR in value) return names; // serialized errors hold no shared memory
  else if (value instanceof Map) for (const [k, v] of value) (bufferNamesIn(k, names, seen), bufferNamesIn(v, names, seen));
  else if (value instanceof Set) for (const v of value) bufferNamesIn(v, names, seen);
  else if (Array.isArray(value)) for (const item of value) bufferNamesIn(item, names, seen);
  else if (isPlainObject(value)) for (const key of Object.keys(value)) bufferNamesIn(value[key], names, seen);
  return names;
}

function unpackBuffer(marker: BufferMarker): unknown {
  const buffer = bufferNamed(marker[BUFFER]);
  return marker.view === null ? buffer : new VIEWS[marker.view]!(buffer, marker.byteOffset, marker.length);
}

/**
 * A shared object's reduced state as its reviver expects it: plain data and shared memory, whose buffers
 * travelled by name through bytes (`'bytes'`). Nothing else in it is unpacked: a barrier's action is a
 * wire function whose constants are revived when the function is resolved (`function-resolve.ts`), once
 * the modules of their kinds are loaded.
 */
function unpackBuffers(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (BUFFER in value) {
    const buffer = unpackBuffer(value as BufferMarker);
    seen.set(value, buffer);
    return buffer;
  }
  seen.set(value, value);
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return value;
  const container = value as Record<string | number, unknown>;
  for (const key of isArray ? value.keys() : Object.keys(value)) container[key] = unpackBuffers(container[key], seen);
  return value;
}

function unpackValue(value: unknown, pending: Pending, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (SHARED in value) {
    const reduced = (value as SharedMarker)[SHARED];
    const live = revive({ kind: reduced.kind, state: unpackBuffers(reduced.state, seen) }, (work) => void pending.push(work));
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
    adoptClass(instance, marker[INSTANCE], pending);
    return instance;
  }
  if (ERROR in value) {
    const error = deserializeThrown((value as ErrorMarker)[ERROR], (rebuilt, wire) => adoptClass(rebuilt, wire, pending));
    seen.set(value, error);
    return error;
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
