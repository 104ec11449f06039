/**
 * Sending side of class references (the receiving side is `class-ref.ts`). How a class instance
 * crosses as an instance of the same class (Python's pickle rebuilds instances from `module.qualname`
 * the same way): the sender names the class as the function transport names a
 * function, the receiver takes its own copy of that class and gives the cloned own fields its
 * prototype. No constructor runs; private (`#`) fields, which no clone can read, are not carried.
 *
 * A class that a module other than the entry script exports goes by that module, so the receiver's
 * instance is of the very class its own imports see (`instanceof` holds). Any other class goes as
 * `toWireFunction` sends it (by source when self-contained). A class that cannot be located, and every
 * built-in class (`Date`, `Map`, `Error`, typed arrays…), is left to the structured clone: its
 * instances arrive as plain data, as before.
 *
 * An error class of the program's (`class ValidationError extends Error`) is located the same way
 * (`wireErrorClassOf`): its errors, thrown or returned, cross as `remote-error.ts` serializes errors,
 * and take their class again on the other side, so `catch (e) { if (e instanceof ValidationError) … }`
 * works as `except ValidationError` does in Python. Built-in error classes and this library's own are
 * rebuilt by name (`remote-error.ts`), as before. Where the inspector cannot locate a class (Bun, Deno),
 * an error's class is looked for among the files its stack names and their imports (`export-search.ts`).
 *
 * @example
 * ```ts
 * const wire = wireClassOf(new Point(1, 2), toWireFunction); // { by: 'module', module: 'file:///…/point.js', name: 'Point', … }
 * classNow(wire) === Point; // class-ref.ts, in a thread that knows it; else `await resolveClass(wire, resolveWireFunction)`
 * ```
 */
import { canLocateFunctions, entryScriptUrl, findFunctionHome } from './function-location.js';
import { knowClass } from './class-ref.js';
import type { WireFunction } from './wire-function.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runtimeFunctionWire } from './builtin-export.js';
import { findExportFromStack } from './export-search.js';
import { errorClasses } from '../errors.js';

// Per prototype: how its class crosses, or null when its instances go as plain data.
const located = new WeakMap<object, WireFunction | null>();

/** Sends a class that no module exports (`toWireFunction`, passed in by `pack.ts`, which composes). */
export type ToWire = (fn: Function, role: string) => WireFunction;

function isNative(fn: unknown): boolean {
  return typeof fn !== 'function' || /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));
}

// `findFunctionHome` names exported functions; for a class it may find the module but not the export
// name: then the module's text says whether it exports a class of that name. A wrong guess cannot do
// harm: the receiver checks that the export's source is the class's source.
function exportedClassName(moduleUrl: string, name: string): string | undefined {
  if (!moduleUrl.startsWith('file:') || !/^[A-Za-z_$][\w$]*$/.test(name)) return undefined;
  let text: string;
  try {
    text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  } catch {
    return undefined;
  }
  if (new RegExp(`\\bexport\\s+(?:abstract\\s+)?class\\s+${name.replace(/\$/g, '\\$')}\\b`).test(text)) return name;
  if (new RegExp(`\\bexport\\s+default\\s+(?:abstract\\s+)?class\\s+${name.replace(/\$/g, '\\$')}\\b`).test(text)) return 'default';
  return undefined;
}

// The built-in error classes an error class of the program's may extend: the receiver rebuilds their
// state (message, stack) itself (`remote-error.ts`), so they may end a located class's chain.
const errorBases: ReadonlySet<object> = new Set(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError].map((base) => base.prototype),
);

// `stack`: an error's, for where the inspector cannot locate its class (below).
function locate(proto: object, toWire: ToWire, stack: string | undefined): WireFunction | null {
  // Only classes written in JavaScript all the way down to Object (or to a built-in error class): a
  // subclass of Map keeps its built-in state only through the structured clone.
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (p !== proto && errorBases.has(p)) break;
    if (!Object.prototype.hasOwnProperty.call(p, 'constructor') || isNative((p as { constructor: unknown }).constructor)) return null;
  }
  const ctor = (proto as { constructor: Function }).constructor;
  if (ctor.prototype !== proto) return null;
  let wire: WireFunction | null = null;
  try {
    // Without the inspector (Bun, Deno), an error's stack names the files it was thrown from, which
    // export or import its class far more often than the files calling the library now do (the task
    // that threw has returned): looked for there first (`export-search.ts`).
    const fromStack = stack === undefined || canLocateFunctions() ? undefined : findExportFromStack(stack, ctor, entryScriptUrl());
    const home = fromStack ?? findFunctionHome(ctor);
    // Node's own classes (`node:` scripts) and code without a file are left to the structured clone.
    // Where no function can be located (Bun, Deno), a class goes as `toWire` sends it: a self-contained
    // one by source, so its instances keep their methods (but are not `instanceof` the module's class).
    if (home === undefined && canLocateFunctions()) return null;
    const exportName = home && (home.exportName ?? exportedClassName(home.moduleUrl, ctor.name));
    if (home !== undefined && exportName !== undefined && home.moduleUrl !== entryScriptUrl()) {
      wire = { by: 'module', module: home.moduleUrl, name: exportName, source: Function.prototype.toString.call(ctor) };
    } else {
      // The runtime's own classes written in JavaScript (Deno's MessagePort) are left to the structured
      // clone, as its native ones are.
      if (runtimeFunctionWire(ctor, '') !== undefined) return null;
      wire = toWire(ctor, 'class');
    }
  } catch {
    return null; // cannot be located: plain data, as before
  }
  knowClass(wire, ctor);
  return wire;
}

const libraryErrors: ReadonlySet<unknown> = new Set(Object.values(errorClasses));

/**
 * How the class of `error` crosses, when it is an error class of the program's that can be located
 * (above); undefined for the built-in ones, this library's own (rebuilt by name), and one that cannot be
 * located (it arrives as today: its closest built-in class, with its name and properties).
 */
export function wireErrorClassOf(error: Error, toWire: ToWire): WireFunction | undefined {
  const proto = Object.getPrototypeOf(error) as { constructor?: unknown } | null;
  if (proto === null || errorBases.has(proto) || libraryErrors.has(proto.constructor)) return undefined;
  return wireOfPrototype(proto, toWire, error);
}

/**
 * How the class of `value` (an object that is not a plain object or array) crosses, or undefined when
 * its instances go as plain data. Cached per class: later instances cost one lookup.
 */
export function wireClassOf(value: object, toWire: ToWire): WireFunction | undefined {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null ? undefined : wireOfPrototype(proto, toWire, undefined);
}

// The first instance sent decides for its class (for an error class without the inspector: the first
// error's stack), so the stack is read only then.
function wireOfPrototype(proto: object, toWire: ToWire, error: Error | undefined): WireFunction | undefined {
  let wire = located.get(proto);
  if (wire === undefined) {
    wire = locate(proto, toWire, error === undefined ? undefined : stackOf(error));
    located.set(proto, wire);
  }
  return wire ?? undefined;
}

function stackOf(error: Error): string | undefined {
  try {
    const stack: unknown = error.stack;
    return typeof stack === 'string' ? stack : undefined;
  } catch {
    return undefined; // a throwing getter: `remote-error.ts` reports what cannot be read
  }
}
