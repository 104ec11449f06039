/**
 * The runtime's own functions cross by name, as Python's pickle sends `time.sleep` or `math.sqrt`: a
 * function of Node's built-in modules as the module and export (the worker imports the module and takes
 * the export), a global one (`Math.sqrt`, `parseInt`) as its path from `globalThis`. Neither can travel
 * by source (the body of one names Node's internals; the other is native), and where a built-in module's
 * function was defined (`node:internal/…`) is not where a program imports it from, so it is looked up
 * among the exports of the built-in modules this program has loaded.
 */
import { builtinModules, createRequire } from 'node:module';
import type { WireFunction } from './wire-function.js';

const requireHere = createRequire(import.meta.url);

// Where a runtime does not list the modules it loaded: built-ins that load without a warning (unlike
// `punycode` or `sys`) or an experimental flag, whose functions a task plausibly is.
const QUIET_BUILTINS = [
  'timers/promises',
  'timers',
  'fs',
  'fs/promises',
  'path',
  'os',
  'crypto',
  'util',
  'zlib',
  'child_process',
  'dns/promises',
  'url',
  'querystring',
  'buffer',
];

const found = new WeakMap<Function, { readonly module: string; readonly name: string } | null>();

/** The built-in modules to search: those this program loaded, where the runtime says which. */
function loadedBuiltins(): readonly string[] {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (!Array.isArray(list) || list.length === 0) return QUIET_BUILTINS;
  const loaded = new Set<string>();
  for (const entry of list) if (typeof entry === 'string' && entry.startsWith('NativeModule ')) loaded.add(entry.slice(13));
  return builtinModules.filter((name) => loaded.has(name));
}

/**
 * `{ module: 'node:timers/promises', name: 'setTimeout' }` when `fn` is an export of a built-in module
 * this program loaded; undefined otherwise.
 */
function builtinExportOf(fn: Function): { readonly module: string; readonly name: string } | undefined {
  const known = found.get(fn);
  if (known !== undefined) return known ?? undefined;
  let result: { module: string; name: string } | null = null;
  search: for (const module of loadedBuiltins()) {
    let exports: Record<string, unknown>;
    try {
      exports = requireHere(`node:${module}`) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const name of Object.keys(exports)) {
      // Data properties only: reading some accessors (deprecated constants) prints a warning.
      if (name !== 'default' && Object.getOwnPropertyDescriptor(exports, name)?.value === fn) {
        result = { module: `node:${module}`, name };
        break search;
      }
    }
  }
  found.set(fn, result);
  return result ?? undefined;
}

const globalPaths = new WeakMap<Function, string | null>();

// Own data properties only: reading some accessors of globalThis (or of a deprecated constant) has
// side effects.
function dataValue(holder: object, name: string): unknown {
  return Object.getOwnPropertyDescriptor(holder, name)?.value;
}

/**
 * `'Math.sqrt'` when `fn` is a function of the runtime's globals: a global (`parseInt`, `Number`), or a
 * function of a global namespace or constructor (`Math.sqrt`, `JSON.parse`, `Date.now`); undefined
 * otherwise.
 */
function globalPathOf(fn: Function): string | undefined {
  const known = globalPaths.get(fn);
  if (known !== undefined) return known ?? undefined;
  const names = Object.getOwnPropertyNames(globalThis);
  let result = names.find((name) => dataValue(globalThis, name) === fn) ?? null;
  search: for (const name of result === null ? names : []) {
    const holder = dataValue(globalThis, name);
    if ((typeof holder !== 'object' && typeof holder !== 'function') || holder === null || holder === globalThis) continue;
    for (const key of Object.getOwnPropertyNames(holder)) {
      if (key !== 'constructor' && key !== 'prototype' && dataValue(holder, key) === fn) {
        result = `${name}.${key}`;
        break search;
      }
    }
  }
  globalPaths.set(fn, result);
  return result ?? undefined;
}

/**
 * How `fn` crosses when it is one of the runtime's own functions (or classes): by its path among the
 * globals, else as an export of a built-in module; undefined when it is neither. `source` is its text.
 */
export function runtimeFunctionWire(fn: Function, source: string): WireFunction | undefined {
  const path = globalPathOf(fn);
  if (path !== undefined) return { by: 'global', path };
  const builtin = builtinExportOf(fn);
  return builtin === undefined ? undefined : { by: 'module', ...builtin, source };
}
