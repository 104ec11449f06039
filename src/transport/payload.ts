/**
 * Values crossing into workers: structured clone, plus live shared objects and functions.
 *
 * `pack` walks plain arrays and plain objects (nothing else: a Map or a class instance is cloned as a
 * whole) and replaces shareable objects by their reduced form and functions by their wire form. It
 * copies only the branches it changes, so a payload with nothing to replace costs a walk and no
 * allocation. `unpack` is its inverse in the worker.
 */
import { canRevive, isShareable, moduleOfKind, reduce, revive, type Reduced } from './shareable.js';
import { resolveWireFunction, toWireFunction, type WireFunction } from './function-ref.js';
import { beforeImport } from '../runtime/typescript-hooks.js';

const SHARED = '@@multiprocessing/shared';
const FUNCTION = '@@multiprocessing/function';

interface SharedMarker {
  readonly [SHARED]: Reduced;
  /** The module that registers its kind, so the receiver can load just that. */
  readonly module: string | undefined;
}
interface FunctionMarker {
  readonly [FUNCTION]: WireFunction;
}

/** A value ready for `postMessage`; `live` tells the receiver it holds markers to unpack. */
export interface Packed {
  readonly value: unknown;
  readonly live: boolean;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Prepares `value` to cross into a worker. `path` names it in errors (`'args'`). */
export function pack(value: unknown, path: string): Packed {
  const state = { live: false, seen: new Map<object, unknown>() };
  const packed = packValue(value, path, state);
  return { value: packed, live: state.live };
}

function packValue(value: unknown, path: string, state: { live: boolean; seen: Map<object, unknown> }): unknown {
  if (typeof value === 'function') {
    state.live = true;
    const marker: FunctionMarker = { [FUNCTION]: toWireFunction(value, path) };
    return marker;
  }
  if (typeof value === 'symbol') {
    throw new TypeError(`${path} is a symbol, which cannot be sent to a worker. Send a string instead.`);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (isShareable(value)) {
    state.live = true;
    const reduced = value[reduce]();
    const marker: SharedMarker = { [SHARED]: reduced, module: moduleOfKind(reduced.kind) };
    return marker;
  }
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return value;
  if (state.seen.has(value)) return state.seen.get(value);
  state.seen.set(value, value);
  let copy: unknown[] | Record<string, unknown> | undefined;
  if (isArray) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue;
      const packed = packValue(item, childPath(path, i), state);
      if (packed !== item) {
        if (copy === undefined) {
          copy = value.slice();
          state.seen.set(value, copy);
        }
        (copy as unknown[])[i] = packed;
      }
    }
  } else {
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item !== 'object' && typeof item !== 'function' && typeof item !== 'symbol') continue;
      const packed = packValue(item, childPath(path, key), state);
      if (packed !== item) {
        if (copy === undefined) {
          copy = { ...value };
          state.seen.set(value, copy);
        }
        (copy as Record<string, unknown>)[key] = packed;
      }
    }
  }
  return copy ?? value;
}

// Shared classes register their revivers when their modules load. A worker imports the modules of the
// kinds it receives, when it first receives them (or the whole library, for a kind that did not say).
let libraryLoaded: Promise<unknown> | undefined;
function loadLibrary(): Promise<unknown> {
  return (libraryLoaded ??= import('../index.js'));
}

async function importKindModule(url: string): Promise<unknown> {
  await beforeImport(url);
  return import(url);
}

function loadRevivers(value: unknown, loads: Map<string, Promise<unknown>>, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (SHARED in value) {
    const marker = value as SharedMarker;
    const kind = marker[SHARED].kind;
    if (!canRevive(kind) && !loads.has(kind)) loads.set(kind, marker.module === undefined ? loadLibrary() : importKindModule(marker.module));
    return;
  }
  if (Array.isArray(value)) for (const item of value) loadRevivers(item, loads, seen);
  else if (isPlainObject(value)) for (const key of Object.keys(value)) loadRevivers(value[key], loads, seen);
}

/** Rebuilds what `pack` made, in the worker: shared objects come back live, functions callable. */
export async function unpack(packed: Packed): Promise<unknown> {
  if (!packed.live) return packed.value;
  const loads = new Map<string, Promise<unknown>>();
  loadRevivers(packed.value, loads, new Set());
  if (loads.size > 0) await Promise.all(loads.values());
  const top = packed.value;
  if (typeof top === 'object' && top !== null && FUNCTION in top) return resolveWireFunction((top as FunctionMarker)[FUNCTION]);
  const pending: Promise<void>[] = [];
  const result = unpackValue(packed.value, pending, new Set());
  await Promise.all(pending);
  return result;
}

function unpackValue(value: unknown, pending: Promise<void>[], seen: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (SHARED in value) return revive((value as SharedMarker)[SHARED]);
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return value;
  if (seen.has(value)) return value;
  seen.add(value);
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

/**
 * Finds the part of `value` that structured clone refuses, for an error message that names it
 * (`args[1].handler`). Only called after a clone failed, so its cost does not matter.
 */
export function findUncloneable(value: unknown, path: string): { path: string; reason: string } | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (typeof value === 'object' && value !== null) {
      for (const [key, child] of children(value)) {
        const found = findUncloneable(child, typeof key === 'number' ? `${path}[${key}]` : childPath(path, key));
        if (found !== undefined) return found;
      }
    }
    return { path, reason };
  }
}

function children(value: object): [string | number, unknown][] {
  if (value instanceof Map) return [...value.entries()].flatMap(([k, v], i) => [[`<map key ${i}>`, k] as [string, unknown], [`<map value ${i}>`, v] as [string, unknown]]);
  if (value instanceof Set) return [...value].map((v, i) => [`<set item ${i}>`, v]);
  if (Array.isArray(value)) return value.map((v, i) => [i, v]);
  return Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]]);
}

/** The `TypeError` to throw when a payload could not be cloned; names the offending path. */
export function uncloneableError(value: unknown, path: string, cause: unknown): TypeError {
  const found = findUncloneable(value, path);
  const where = found?.path ?? path;
  const reason = found?.reason ?? (cause instanceof Error ? cause.message : String(cause));
  return new TypeError(
    `${where} cannot be sent to a worker: ${reason}. ` +
      `Only structured-clonable values, functions, and this library's shared objects can cross; ` +
      `send plain data instead (for an object with methods, send its data and rebuild it in the worker).`,
    { cause },
  );
}
