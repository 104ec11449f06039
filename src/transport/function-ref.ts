/**
 * How a function crosses into a worker. Three ways, tried in this order:
 *
 * 1. an explicit `{ module, name }` reference is used as is;
 * 2. a self-contained function (it uses only globals) is shipped by source and compiled again there;
 * 3. a function that uses outer variables is sent by reference when a module other than the entry
 *    script exports it: the worker imports that module and takes the export, so imports and module
 *    state work (as under Python's spawn). The worker checks that the export's source is the one sent.
 *
 * Anything else (a closure in the entry script, an unexported closure) is refused at the call with an
 * error that names the outer variables and the fix.
 */
import { findFunctionHome } from './function-location.js';
import { parseFunction } from './free-variables.js';
import { beforeImport } from '../runtime/typescript-hooks.js';
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve as resolvePath } from 'node:path';

/** An explicit reference to a function exported by a module: the worker imports `module` and takes `name`. */
export interface FunctionReference {
  /** A file URL, an absolute or `./relative` path (from the current directory), or a package name. */
  readonly module: string | URL;
  /** The export's name (`'default'` for a default export). */
  readonly name: string;
}

/** A function as it travels in a message. */
export type WireFunction =
  | { readonly by: 'source'; readonly expression: string; readonly name: string }
  | { readonly by: 'module'; readonly module: string; readonly name: string; readonly source: string | null };

// esbuild's keepNames helper (tsx uses it) may appear in any transpiled function's body: the worker
// provides it, so it does not count as an outer variable.
const providedNames = new Set(['__name']);

let globalNames: Set<string> | undefined;
function isGlobalName(name: string): boolean {
  if (globalNames === undefined) {
    globalNames = new Set();
    for (let o: object | null = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
      for (const key of Object.getOwnPropertyNames(o)) globalNames.add(key);
    }
  }
  return globalNames.has(name) || providedNames.has(name);
}

const cache = new WeakMap<Function, WireFunction>();

function isReference(value: unknown): value is FunctionReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FunctionReference).name === 'string' &&
    (typeof (value as FunctionReference).module === 'string' || (value as FunctionReference).module instanceof URL)
  );
}

function moduleSpecifier(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (module.startsWith('file:') || module.startsWith('node:') || module.startsWith('data:')) return module;
  if (module.startsWith('.')) return pathToFileURL(resolvePath(module)).href;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  return module;
}

function entryScriptUrl(): string | undefined {
  const entry = process.argv[1];
  return entry === undefined ? undefined : pathToFileURL(resolvePath(entry)).href;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Turns a function (or an explicit reference) into what crosses into a worker, or throws a `TypeError`
 * that says why it cannot cross and how to fix it. `role` names it in messages (`'target'`, `'args[1]'`).
 */
export function toWireFunction(fn: Function | FunctionReference, role: string): WireFunction {
  if (typeof fn !== 'function') {
    if (isReference(fn)) return { by: 'module', module: moduleSpecifier(fn.module), name: fn.name, source: null };
    throw new TypeError(`${role} must be a function or a { module, name } reference, not ${describe(fn)}`);
  }
  const cached = cache.get(fn);
  if (cached !== undefined) return cached;
  const wire = analyse(fn, role);
  cache.set(fn, wire);
  return wire;
}

function analyse(fn: Function, role: string): WireFunction {
  const label = fn.name && fn.name !== role ? `${role} '${fn.name}'` : role;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(
      `${label} is a native or bound function, which cannot be sent to a worker. ` +
        `Wrap it in a function of your own (exported from a module, or self-contained), ` +
        `or pass { module, name } for a function a module exports.`,
    );
  }
  const parsed = parseFunction(source, isGlobalName);
  const outer = parsed?.freeVariables.filter((name) => !isGlobalName(name)) ?? [];
  // `import()` and `import.meta` resolve against the module that holds the code: compiled again
  // elsewhere they would resolve against this library, so such a function goes by reference if it can.
  const needsItsModule = /\bimport\s*(\(|\.\s*meta)/.test(source);
  if (parsed !== undefined && outer.length === 0 && !needsItsModule) {
    return { by: 'source', expression: parsed.expression, name: fn.name };
  }

  const home = findFunctionHome(fn);
  const isEntry = home !== undefined && home.moduleUrl === entryScriptUrl();
  if (home !== undefined && !isEntry && home.exportName !== undefined) {
    return { by: 'module', module: home.moduleUrl, name: home.exportName, source };
  }
  if (parsed !== undefined && outer.length === 0) return { by: 'source', expression: parsed.expression, name: fn.name };
  if (parsed === undefined) {
    throw new TypeError(
      `${label} cannot be sent to a worker: its source could not be compiled on its own ` +
        `and no module exports it. Export it from a module (not the entry script), or pass { module, name }.`,
    );
  }
  const names = outer.map((name) => `'${name}'`).join(', ');
  const where =
    home === undefined
      ? ''
      : isEntry
        ? ' It is defined in the entry script, which workers do not import.'
        : ` Its module (${home.moduleUrl}) does not export it.`;
  throw new TypeError(
    `${label} uses variables from outside its body (${names}), so it cannot be sent to a worker by source.${where} ` +
      `Fix: move it into a module and export it (the worker then imports that module, so its imports and ` +
      `module state work), or pass ${outer.length === 1 ? 'that value' : 'those values'} as arguments.`,
  );
}

// ---- worker side -------------------------------------------------------------------------------

const resolved = new Map<string, Promise<Function>>();

/** Compiles or imports a function sent by `toWireFunction`. Cached per worker. */
export function resolveWireFunction(wire: WireFunction): Promise<Function> {
  const key = wire.by === 'source' ? `s:${wire.expression}` : `m:${wire.module}#${wire.name}`;
  let found = resolved.get(key);
  if (found === undefined) {
    found = wire.by === 'source' ? compile(wire.expression, wire.name) : importExport(wire);
    resolved.set(key, found);
    found.catch(() => resolved.delete(key));
  }
  return found;
}

/** How stack traces name a function shipped by source: `multiprocessing:<this>`. */
function safeName(name: string): string {
  return (name || 'anonymous').replace(/[^\w$.-]/g, '_');
}

/**
 * Compiles a function shipped by source as the default export of a small module (a `data:` URL).
 * As module code it is strict, and a function declaration stays a declaration: a recursive function
 * compiled with `new Function` as a named function expression ran 5–10% slower here. `__name` is
 * esbuild's keepNames helper (tsx's output uses it).
 */
async function compile(expression: string, name: string): Promise<Function> {
  const declaration = /^\((async\s+)?function\b/.test(expression) && expression.endsWith('\n)')
    ? expression.slice(1, -2)
    : `(${expression})`;
  const text =
    'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });\n' +
    `export default ${declaration};\n`;
  const url = `data:text/javascript;multiprocessing=${encodeURIComponent(safeName(name))},${encodeURIComponent(text)}`;
  await beforeImport(url);
  const namespace = (await import(url)) as { default: Function };
  return namespace.default;
}

// A frame in such a module shows the whole data: URL; `cleanStack` shows `multiprocessing:<name>:line:col`.
// (encodeURIComponent escapes ':', so the first ':' after the comma starts the line number.)
const DATA_FRAME = /data:text\/javascript;multiprocessing=([^,]*),[^:\s]*:(\d+):(\d+)/g;

/** Rewrites stack frames of functions shipped by source into short, readable locations. */
export function cleanStack(stack: string): string {
  return stack.includes('data:text/javascript;multiprocessing=')
    ? stack.replace(DATA_FRAME, (_, name: string, line: string, column: string) => `multiprocessing:${decodeURIComponent(name)}:${line}:${column}`)
    : stack;
}

/**
 * Compiles a function shipped by source at once, for callers that cannot wait (a barrier's action run
 * by a blocking `wait()`); `undefined` for a function that must be imported. Compiled with
 * `new Function`, which is synchronous but runs recursive code a little slower than `compile`.
 */
export function resolveWireFunctionSync(wire: WireFunction): Function | undefined {
  if (wire.by !== 'source') return undefined;
  const label = `multiprocessing:${safeName(wire.name)}`;
  const nameHelper = (target: Function, value: string): Function =>
    Object.defineProperty(target, 'name', { value, configurable: true });
  const factory = new Function('__name', `"use strict";\nreturn ${wire.expression};\n//# sourceURL=${label}`) as (
    helper: typeof nameHelper,
  ) => Function;
  return factory(nameHelper);
}

async function importExport(wire: Extract<WireFunction, { by: 'module' }>): Promise<Function> {
  await beforeImport(wire.module);
  const namespace = (await import(wire.module)) as Record<string, unknown>;
  let value = namespace[wire.name];
  const commonJs = namespace.default;
  if (value === undefined && typeof commonJs === 'object' && commonJs !== null) {
    value = (commonJs as Record<string, unknown>)[wire.name];
  }
  if (typeof value !== 'function') {
    throw new TypeError(
      `module ${wire.module} has no exported function named '${wire.name}' ` +
        `(found ${value === undefined ? 'nothing' : typeof value}). Check the { module, name } reference.`,
    );
  }
  if (wire.source !== null && Function.prototype.toString.call(value) !== wire.source) {
    throw new TypeError(
      `module ${wire.module} exports a different '${wire.name}' in this worker than the function the parent sent ` +
        `(the file may have changed since the parent loaded it). Restart the program.`,
    );
  }
  return value;
}
