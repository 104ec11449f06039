/**
 * How a function crosses into a worker. Tried in this order:
 *
 * 1. an explicit `{ module, name }` reference is used as is;
 * 2. a self-contained function (it uses only globals) is shipped by source and compiled again there;
 * 3. a function that uses outer variables is sent by reference when a module other than the entry
 *    script exports it: the worker imports that module and takes the export, so imports and module
 *    state work (as under Python's spawn). The worker checks that the export's source is the one sent;
 * 4. any other function (in the entry script, or not exported) is shipped with what it uses of its
 *    module, as cloudpickle ships a function with its globals (`module-scope.ts` decides what can
 *    travel): imports are made again in the worker, resolved from the function's own file; functions,
 *    classes and compiled helpers travel as source; other constants travel as a snapshot of their
 *    values taken when the function first crosses. The worker compiles it all at the same lines and
 *    columns of the same file name, so `import()` resolves and stack frames point as in the user's file.
 *
 * Anything else (a reassigned `let`, a local of an enclosing function) is refused at the call with an
 * error that names the variables and the fix. Steps 3 and 4 use the inspector (`function-location.ts`):
 * plainly self-contained functions never load it, nor the parser.
 */
import { findFunctionPlace, exportNameOf, isCommonJsModule, offsetIn, readOuterValues, scriptSource, type FunctionPlace } from './function-location.js';
import { parseFunction } from './free-variables.js';
import { keepNamesHelper, planScope, ScopeRefusal, type WireScope } from './module-scope.js';
import { findUncloneable, pack, unpack, type Packed } from './payload.js';
import { asDeclaration, dataModuleLabel, piecesMappings, rememberOrigin } from './stack-frames.js';
import { whileImporting } from '../runtime/identity.js';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeImport } from '../runtime/typescript-hooks.js';
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
  | {
      readonly by: 'source';
      readonly expression: string;
      readonly name: string;
      /** What it uses of its module, when it uses anything; then `key` tells it from same-text functions. */
      readonly scope?: WireScope;
      readonly values?: Packed;
      readonly key?: string;
      /** Names it in the parent, which maps its stack frames to the user's file when an error comes back. */
      readonly origin?: number;
    }
  | { readonly by: 'module'; readonly module: string; readonly name: string; readonly source: string | null };

/** A string that is equal for two wire functions exactly when they are the same function. */
export function wireKey(wire: WireFunction): string {
  return wire.by === 'source' ? `s${wire.key ?? wire.expression}` : `m${wire.module}#${wire.name}`;
}

// esbuild's keepNames helper (tsx uses it) may appear in any transpiled function's body: the worker
// provides it, so it does not count as an outer variable.
const providedNames: ReadonlySet<string> = new Set(['__name']);

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
// Functions shipped by source alone, by origin: their place in the user's file is looked up only when
// an error with their frames comes back, so the fast path never pays the inspector for it.


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
  let wire = analyse(fn, role);
  if (wire.by === 'source' && wire.scope === undefined) {
    wire = { ...wire, origin: rememberOrigin(fn, wire.expression) };
  }
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
  // `import()` resolves against the file that holds the code: such a function goes with its module's
  // file name, by reference or with its scope.
  const needsItsModule = /\bimport\s*(\(|\.\s*meta)/.test(source);
  if (parsed !== undefined && outer.length === 0 && !needsItsModule) {
    return { by: 'source', expression: parsed.expression, name: fn.name };
  }

  const place = findFunctionPlace(fn);
  const isEntry = place !== undefined && place.moduleUrl === entryScriptUrl();
  if (place !== undefined && !isEntry) {
    const exportName = exportNameOf(place, fn);
    if (exportName !== undefined) return { by: 'module', module: place.moduleUrl, name: exportName, source };
  }
  // `import.meta` has no meaning outside module code, so such a function travels only by reference.
  const usesImportMeta = /\bimport\s*\.\s*meta\b/.test(source);
  const shipped = place === undefined || usesImportMeta ? undefined : withScope(fn, place, source, label);
  if (shipped !== undefined && !(shipped instanceof ScopeRefusal)) return shipped;
  if (parsed !== undefined && outer.length === 0) return { by: 'source', expression: parsed.expression, name: fn.name };
  if (parsed === undefined) {
    throw new TypeError(
      `${label} cannot be sent to a worker: its source could not be compiled on its own ` +
        `and no module exports it. Export it from a module (not the entry script), or pass { module, name }.`,
    );
  }
  const why = usesImportMeta ? 'outside it, and it uses import.meta, which only its module has' : 'outside it, in a module that could not be analysed';
  const problems = shipped?.problems ?? outer.map((name) => ({ name, reason: why }));
  const names = problems.map(({ name }) => `'${name}'`).join(', ');
  const details = problems.map(({ name, reason }) => `'${name}' is ${reason}`).join('; ');
  const where = place === undefined || isEntry ? '' : ` Its module (${place.moduleUrl}) does not export it.`;
  throw new TypeError(
    `${label} uses variables from outside its body (${names}) that cannot travel with it: ${details}. ` +
      `Only its module's imports, constants, functions and classes travel with a function.${where} ` +
      `Fix: pass ${problems.length === 1 ? 'that value as an argument' : 'those values as arguments'} (or make a reassigned ` +
      `variable a const, or a shared Value), or move the function into a module other than the entry script and ` +
      `export it (the worker then imports that module, so its imports and module state work).`,
  );
}

const requireHere = createRequire(import.meta.url);
let lastSnapshot = 0;

/**
 * Functions from one place with equal snapshots share a key, so each worker compiles them once (an
 * arrow written inline is a new function at every call). Shared memory has no digest: such snapshots
 * are told apart by a counter.
 */
function snapshotDigest(snapshot: unknown): string {
  const { serialize } = requireHere('node:v8') as typeof import('node:v8');
  const { createHash } = requireHere('node:crypto') as typeof import('node:crypto');
  try {
    return createHash('sha1').update(serialize(snapshot)).digest('base64');
  } catch {
    return String(++lastSnapshot);
  }
}

/**
 * Ships `fn` with what it uses of its module; a `ScopeRefusal` when something it uses cannot travel,
 * undefined when its module's source cannot be analysed.
 */
function withScope(fn: Function, place: FunctionPlace, text: string, label: string): WireFunction | ScopeRefusal | undefined {
  const source = scriptSource(place.scriptId);
  const commonJs = isCommonJsModule(place.moduleUrl);
  const file = commonJs ? fileURLToPath(place.moduleUrl) : place.moduleUrl;
  const plan = planScope(
    { scriptId: place.scriptId, file, commonJs, source, offset: offsetIn(source, place), text },
    isGlobalName,
    providedNames,
  );
  if (plan === undefined || plan instanceof ScopeRefusal) return plan;
  let key = `${place.scriptUrl}:${place.location.lineNumber}:${place.location.columnNumber}`;
  let values: Packed | undefined;
  if (plan.captured.length > 0) {
    const read = readOuterValues(fn, plan.captured);
    const unread = plan.captured.filter((name) => !read.has(name));
    if (unread.length > 0) {
      return new ScopeRefusal(unread.map((name) => ({ name, reason: 'a top-level value that the inspector could not read (no function of its module uses it)' })));
    }
    const packed = pack(Object.fromEntries(read), 'constants');
    let snapshot: unknown;
    try {
      // Cloned now, so every worker (a replacement started later too) gets the values of this moment.
      snapshot = structuredClone(packed.value);
    } catch (error) {
      const uncloneable = findUncloneable(packed.value, 'constants');
      throw new TypeError(
        `${label} uses ${uncloneable?.path ?? 'a constant'}, which cannot be sent to a worker with it: ` +
          `${uncloneable?.reason ?? String(error)}. A function takes its module's constants along as a copy; pass ` +
          `this one as an argument in a form that can be cloned, or build it inside the function.`,
      );
    }
    values = { value: snapshot, live: packed.live };
    key += `#${snapshotDigest(snapshot)}`;
  }
  const mappings = piecesMappings(file, plan.scope.pieces);
  const scope = mappings === undefined ? plan.scope : { ...plan.scope, mappings };
  return { by: 'source', expression: `(${text}\n)`, name: fn.name, scope, ...(values && { values }), key };
}

// ---- worker side -------------------------------------------------------------------------------

const resolved = new Map<string, Promise<Function>>();

/** Compiles or imports a function sent by `toWireFunction`. Cached per worker. */
export function resolveWireFunction(wire: WireFunction): Promise<Function> {
  const key = wireKey(wire);
  let found = resolved.get(key);
  if (found === undefined) {
    found = wire.by === 'module' ? importExport(wire) : wire.scope === undefined ? compile(wire) : compileWithScope(wire, wire.scope);
    resolved.set(key, found);
    found.catch(() => resolved.delete(key));
  }
  return found;
}

/**
 * Compiles a function shipped by source as the default export of a small module (a `data:` URL).
 * As module code it is strict, and a function declaration stays a declaration: a recursive function
 * compiled with `new Function` as a named function expression ran 5–10% slower here. `__name` is
 * esbuild's keepNames helper (tsx's output uses it).
 */
async function compile(wire: Extract<WireFunction, { by: 'source' }>): Promise<Function> {
  const expression = wire.expression;
  const text =
    'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });\n' +
    `export default ${asDeclaration(expression)};\n`;
  const label = dataModuleLabel(wire.name, wire.origin);
  const url = `data:text/javascript;multiprocessing=${encodeURIComponent(label)},${encodeURIComponent(text)}`;
  await beforeImport(url);
  const namespace = (await import(url)) as { default: Function };
  return namespace.default;
}

/**
 * Compiles a function shipped by source at once, for callers that cannot wait (a barrier's action run
 * by a blocking `wait()`); `undefined` for a function that must be imported. Compiled with
 * `new Function`, which is synchronous but runs recursive code a little slower than `compile`.
 */
export function resolveWireFunctionSync(wire: WireFunction): Function | undefined {
  if (wire.by !== 'source' || wire.scope !== undefined) return undefined;
  const label = `multiprocessing:${dataModuleLabel(wire.name, undefined)}`;
  const factory = new Function('__name', `"use strict";\nreturn ${wire.expression};\n//# sourceURL=${label}`) as (
    helper: typeof keepNamesHelper,
  ) => Function;
  return factory(keepNamesHelper);
}

async function compileWithScope(wire: Extract<WireFunction, { by: 'source' }>, scope: WireScope): Promise<Function> {
  // Its imports (and any import() it makes) resolve from the user's file, which may be TypeScript.
  await beforeImport(scope.file);
  const values = wire.values === undefined ? {} : ((await unpack(wire.values)) as Record<string, unknown>);
  // Loaded on first use: workers that only receive self-contained functions never need it.
  const { compileInScope } = await import('./scope-compile.js');
  return compileInScope(scope, values, wire.name);
}

async function importExport(wire: Extract<WireFunction, { by: 'module' }>): Promise<Function> {
  await beforeImport(wire.module);
  const namespace = await whileImporting(wire.module, () => import(wire.module) as Promise<Record<string, unknown>>);
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
