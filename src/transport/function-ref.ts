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
import { INLINE_TARGET, COMMONJS_PROVIDED, planScope, ScopeRefusal, type WireScope, type ScopePiece } from './module-scope.js';
import { findUncloneable, pack, unpack, type Packed } from './payload.js';
import { whileImporting, whileImportingSync } from '../runtime/identity.js';
import { createRequire, findSourceMap, isBuiltin } from 'node:module';
import vm from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';

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
const shippedBySource = new Map<number, WeakRef<Function>>();
const forgetOrigin = new FinalizationRegistry<number>((origin) => shippedBySource.delete(origin));
let lastOrigin = 0;

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
    wire = { ...wire, origin: ++lastOrigin };
    shippedBySource.set(lastOrigin, new WeakRef(fn));
    forgetOrigin.register(fn, lastOrigin);
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
  const shipped = place === undefined || /\bimport\s*\.\s*meta\b/.test(source) ? undefined : withScope(fn, place, source, label);
  if (shipped !== undefined && !(shipped instanceof ScopeRefusal)) return shipped;
  if (parsed !== undefined && outer.length === 0) return { by: 'source', expression: parsed.expression, name: fn.name };
  if (parsed === undefined) {
    throw new TypeError(
      `${label} cannot be sent to a worker: its source could not be compiled on its own ` +
        `and no module exports it. Export it from a module (not the entry script), or pass { module, name }.`,
    );
  }
  const problems = shipped?.problems ?? outer.map((name) => ({ name, reason: 'outside it, in a module that could not be analysed' }));
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
  return { by: 'source', expression: `(${text}\n)`, name: fn.name, scope: plan.scope, ...(values && { values }), key };
}

// ---- worker side -------------------------------------------------------------------------------

const resolved = new Map<string, Promise<Function>>();

/** Compiles or imports a function sent by `toWireFunction`. Cached per worker. */
export function resolveWireFunction(wire: WireFunction): Promise<Function> {
  const key = wireKey(wire);
  let found = resolved.get(key);
  if (found === undefined) {
    found = wire.by === 'module' ? importExport(wire) : wire.scope === undefined ? compile(wire) : compileInScope(wire, wire.scope);
    resolved.set(key, found);
    found.catch(() => resolved.delete(key));
  }
  return found;
}

const nameHelper = (target: Function, value: string): Function => Object.defineProperty(target, 'name', { value, configurable: true });

// `import()` in code compiled with this option resolves as in the file named by `filename`, through the
// program's loader (tsx's hooks included). Node 20.12 and later; Node 20 flags it experimental and warns
// once per thread at the first such import, which `quietly` takes on itself.
const defaultLoader = (vm.constants as unknown as { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
let warned = false;

function quietly<T>(run: () => T): T {
  if (warned || defaultLoader === undefined) return run();
  warned = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (String(warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emitWarning as (...a: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return run();
  } finally {
    process.emitWarning = emitWarning;
  }
}

// Frames of code compiled here name its file with this mark, so the parent can tell them from frames of
// the same file imported normally, and map them through the file's source map (tsx).
const COMPILED_MARK = '?multiprocessing';

function compileIn(file: string, body: string, parameters: string[]): Function {
  const filename = file + COMPILED_MARK;
  const options = defaultLoader === undefined ? { filename } : { filename, importModuleDynamically: defaultLoader };
  const compiled = vm.compileFunction(body, parameters, options as vm.CompileFunctionOptions);
  if (!warned && defaultLoader !== undefined) quietly(() => vm.compileFunction('return import("node:vm")', [], options as vm.CompileFunctionOptions)()).catch(() => {});
  return compiled;
}

/** Without Node's default loader for compiled code: resolve here, as `require` would, then import. */
function absoluteSpecifier(specifier: string, file: string): string {
  if (isBuiltin(specifier) || /^[a-z][a-z\d+.-]*:/i.test(specifier)) return specifier;
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  return pathToFileURL(createRequire(path).resolve(specifier)).href;
}

/** Lays the pieces out at their lines and columns, so positions in the compiled code are the file's. */
function layOut(pieces: readonly ScopePiece[]): string {
  let text = '"use strict";';
  let line = 0;
  let column = text.length;
  for (const piece of pieces) {
    if (piece.line > line) {
      text += '\n'.repeat(piece.line - line);
      line = piece.line;
      column = 0;
    } else if (!/[;}\s]$/.test(text)) {
      text += ';';
      column += 1;
    }
    const start = piece.column - piece.prefix.length;
    if (start > column) {
      text += ' '.repeat(start - column);
      column = start;
    }
    const written = piece.prefix + piece.text + piece.suffix;
    text += written;
    const lastBreak = written.lastIndexOf('\n');
    if (lastBreak < 0) {
      column += written.length;
    } else {
      line += written.split('\n').length - 1;
      column = written.length - lastBreak - 1;
    }
  }
  return text;
}

/**
 * Compiles a function shipped with its module's scope: its imports made again from its own file,
 * its constants from the snapshot, its module's functions and classes laid out at their places.
 */
async function compileInScope(wire: Extract<WireFunction, { by: 'source' }>, scope: WireScope): Promise<Function> {
  const file = scope.file;
  const namespaces: Record<string, unknown>[] = [];
  if (scope.imports.length > 0) {
    const importThere =
      defaultLoader === undefined
        ? (specifier: string) => import(absoluteSpecifier(specifier, file)) as Promise<Record<string, unknown>>
        : (compileIn(file, 'return import(specifier);', ['specifier']) as (specifier: string) => Promise<Record<string, unknown>>);
    const importer = file.startsWith('file:') ? fileURLToPath(file) : file;
    // One at a time, in the module's order, so a module that starts processes when imported is named.
    for (const { specifier } of scope.imports) {
      namespaces.push(await whileImporting(`'${specifier}' (as ${importer} imports it)`, () => quietly(() => importThere(specifier))));
    }
  }
  const values = wire.values === undefined ? {} : ((await unpack(wire.values)) as Record<string, unknown>);
  const parameters = ['__name', INLINE_TARGET];
  const argumentsList: unknown[] = [nameHelper, undefined];
  if (scope.commonJs) {
    const requireThere = createRequire(file);
    // A module it requires is named if it starts processes when loaded, as for imports.
    const requireNamed = Object.assign((id: string): unknown => whileImportingSync(`'${id}' (as ${file} requires it)`, () => requireThere(id)), requireThere);
    const commonJs: Record<string, unknown> = { require: requireNamed, __filename: file, __dirname: dirname(file) };
    for (const name of COMMONJS_PROVIDED) {
      parameters.push(name);
      argumentsList.push(commonJs[name]);
    }
  }
  scope.imports.forEach((entry, i) => {
    const namespace = namespaces[i]!;
    parameters.push(entry.local);
    argumentsList.push(entry.imported === '*' ? namespace : namespace[entry.imported]);
  });
  for (const name of scope.captured) {
    parameters.push(name);
    argumentsList.push(values[name]);
  }
  const body = `${layOut(scope.pieces)}\n;return ${scope.result};`;
  const factory = compileIn(file, body, parameters);
  const fn: unknown = factory(...argumentsList);
  if (typeof fn !== 'function') throw new TypeError(`${wire.name || 'a function'} shipped from ${file} did not compile to a function`);
  return fn;
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
async function compile(wire: Extract<WireFunction, { by: 'source' }>): Promise<Function> {
  const expression = wire.expression;
  const text =
    'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });\n' +
    `export default ${asDeclaration(expression)};\n`;
  const label = safeName(wire.name) + (wire.origin === undefined ? '' : `~${wire.origin}`);
  const url = `data:text/javascript;multiprocessing=${encodeURIComponent(label)},${encodeURIComponent(text)}`;
  const namespace = (await import(url)) as { default: Function };
  return namespace.default;
}

function asDeclaration(expression: string): string {
  return /^\((async\s+)?function\b/.test(expression) && expression.endsWith('\n)') ? expression.slice(1, -2) : `(${expression})`;
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
 * A stack as a child prints it itself (a `Process` target's uncaught error): without the marks that
 * only the parent can resolve. Frames of functions shipped with their scope name the real file (at
 * the position of the compiled JavaScript, under tsx); those shipped alone, `multiprocessing:<name>`.
 */
export function printableStack(stack: string): string {
  return cleanStack(stack).replace(/(multiprocessing:[\w$.-]+)~\d+:/g, '$1:').replaceAll(`${COMPILED_MARK}:`, ':');
}

const ORIGIN_FRAME = /multiprocessing:([\w$.-]+)~(\d+):(\d+):(\d+)/g;

/**
 * In the parent: points the frames of functions shipped by source (`multiprocessing:<name>~<origin>:2:47`)
 * at the user's file, line and column, through the TypeScript source map when the program has one
 * (tsx); a frame of a function no longer known keeps its short form without the origin.
 */
export function locateShippedFrames(stack: string): string {
  if (!stack.includes('multiprocessing')) return stack;
  return locateCompiledFrames(stack).replace(ORIGIN_FRAME, (_, name: string, origin: string, line: string, column: string) => {
    let found: string | undefined;
    try {
      found = realPosition(Number(origin), Number(line), Number(column));
    } catch {
      found = undefined;
    }
    return found ?? `multiprocessing:${name}:${line}:${column}`;
  });
}

const COMPILED_FRAME = /([^\s(]+)\?multiprocessing:(\d+):(\d+)/g;

/** In the parent: maps frames of functions shipped with their scope through their file's source map. */
function locateCompiledFrames(stack: string): string {
  if (!stack.includes(COMPILED_MARK)) return stack;
  return stack.replace(COMPILED_FRAME, (_, file: string, line: string, column: string) => {
    try {
      return shownPosition(file, Number(line) - 1, Number(column) - 1);
    } catch {
      return `${file}:${line}:${column}`;
    }
  });
}

/** `file:line:col` (1-based) for a 0-based position in a script, through its source map if it has one. */
function shownPosition(file: string, line0: number, column0: number): string {
  const entry = findSourceMap(file)?.findEntry(line0, column0) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
  if (entry?.originalSource !== undefined && entry.originalLine !== undefined && entry.originalColumn !== undefined) {
    file = entry.originalSource;
    line0 = entry.originalLine;
    column0 = entry.originalColumn;
  }
  const shown = file.startsWith('file:') ? fileURLToPath(file) : file;
  return `${shown}:${line0 + 1}:${column0 + 1}`;
}

function realPosition(origin: number, line: number, column: number): string | undefined {
  const fn = shippedBySource.get(origin)?.deref();
  const wire = fn === undefined ? undefined : cache.get(fn);
  if (fn === undefined || wire?.by !== 'source') return undefined;
  const place = findFunctionPlace(fn);
  if (place === undefined) return undefined;
  const text = Function.prototype.toString.call(fn);
  const source = scriptSource(place.scriptId);
  const start = source.lastIndexOf(text, offsetIn(source, place));
  if (start < 0) return undefined;
  // Line 2 of the compiled module is `export default <declaration>`, the function's first line.
  const declaration = asDeclaration(wire.expression);
  const prefix = 'export default '.length + declaration.indexOf(text);
  const before = source.slice(0, start);
  const startLine = before.split('\n').length - 1;
  const startColumn = start - (before.lastIndexOf('\n') + 1);
  const line0 = startLine + (line - 2);
  const column0 = line === 2 ? startColumn + (column - 1 - prefix) : column - 1;
  return shownPosition(place.scriptUrl, line0, column0);
}

/**
 * Compiles a function shipped by source at once, for callers that cannot wait (a barrier's action run
 * by a blocking `wait()`); `undefined` for a function that must be imported. Compiled with
 * `new Function`, which is synchronous but runs recursive code a little slower than `compile`.
 */
export function resolveWireFunctionSync(wire: WireFunction): Function | undefined {
  if (wire.by !== 'source' || wire.scope !== undefined) return undefined;
  const label = `multiprocessing:${safeName(wire.name)}`;
  const factory = new Function('__name', `"use strict";\nreturn ${wire.expression};\n//# sourceURL=${label}`) as (
    helper: typeof nameHelper,
  ) => Function;
  return factory(nameHelper);
}

async function importExport(wire: Extract<WireFunction, { by: 'module' }>): Promise<Function> {
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
