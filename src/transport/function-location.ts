/**
 * Where a function was defined, under which name its module exports it, and what its module's
 * top-level variables hold.
 *
 * V8's inspector gives any function's defining script (`[[FunctionLocation]]` → script id → URL), the
 * script's source as V8 compiled it, and the variables of the scopes the function closes over
 * (`[[Scopes]]`), which is the only way to read a module's non-exported constants. The session is
 * in-thread, so every call answers synchronously.
 * For CommonJS modules the export is found in `require.cache`; for ES modules, by parsing the module's
 * source (so TypeScript run under tsx works too) and matching the function's position against the
 * module's exported declarations. The result is exact: a nested function with the same name as an
 * export never matches.
 *
 * Bun's and Deno's `node:inspector` cannot do this: Bun's answers no protocol method ("wasn't found"),
 * Deno's answers only on a later turn. There every function's place is unknown (`canLocateFunctions()`
 * is false), found out once by the first call: a function crosses by source, or by `{ module, name }` when
 * a module that its caller imports exports it (`export-search.ts`).
 */
import { createRequire } from 'node:module';
import type { Session } from 'node:inspector';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Acorn from 'acorn';
import { resolve as resolvePath } from 'node:path';
import { misuse } from '../errors.js';
import { findImportedExport } from './export-search.js';

const requireHere = createRequire(import.meta.url);

export interface Location {
  readonly scriptId: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

/** The module (as a URL) that defines a function, and the name it is exported under, if any. */
export interface FunctionHome {
  readonly moduleUrl: string;
  readonly exportName: string | undefined;
}

let session: Session | undefined;
const scriptUrls = new Map<string, string>();
let idleTimer: ReturnType<typeof setTimeout> | undefined;
// Known after the first session: false where the inspector does not answer synchronously.
let locates: boolean | undefined;

/** Whether this runtime can tell where a function was defined (Node can; Bun and Deno cannot). */
export function canLocateFunctions(): boolean {
  if (locates === undefined && openSession() !== undefined) closeWhenIdle();
  return locates === true;
}

// The debugger domain stays enabled only while functions are being looked up: after a second of
// quiet it is turned off again, so it costs the program nothing afterwards.
function closeWhenIdle(): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = setTimeout(closeSession, 1000);
  idleTimer.unref();
}

function debuggerSession(): Session {
  closeWhenIdle();
  const opened = session ?? openSession();
  if (opened === undefined) throw misuse(Error, 'ERR_MP_INTERNAL', 'the inspector was used where it cannot locate functions');
  return opened;
}

function openSession(): Session | undefined {
  if (locates === false) return undefined;
  // Loaded on first use: workers that never analyse a function do not pay for the inspector module.
  const { Session: InspectorSession } = requireHere('node:inspector') as typeof import('node:inspector');
  const opened = new InspectorSession();
  opened.connect();
  opened.on('Debugger.scriptParsed', (message) => {
    scriptUrls.set(message.params.scriptId, message.params.url);
  });
  try {
    post(opened, 'Debugger.enable', {});
  } catch {
    opened.disconnect();
    locates = false;
    return undefined;
  }
  locates = true;
  session = opened;
  return opened;
}

function closeSession(): void {
  session?.disconnect();
  session = undefined;
  scriptUrls.clear();
  idleTimer = undefined;
}

// The in-thread inspector session answers synchronously: the callback runs before `post` returns.
function post<T>(target: Session, method: string, params: object): T {
  let result: T | undefined;
  let failure: Error | null = null;
  (target.post as (m: string, p: object, cb: (e: Error | null, r: T) => void) => void)(method, params, (error, value) => {
    failure = error;
    result = value;
  });
  if (failure !== null) throw failure;
  if (result === undefined) throw misuse(Error, 'ERR_MP_INTERNAL', `inspector call ${method} did not answer synchronously`);
  return result;
}

const probeKey = Symbol.for('multiprocessing.functionProbe');

interface Property {
  name: string;
  value?: { value?: unknown; objectId?: string };
}

/** Runs `use` with a remote handle on `value`, released afterwards. */
function withRemote<T>(inspector: Session, value: unknown, use: (objectId: string) => T): T | undefined {
  const holder = globalThis as Record<symbol, unknown>;
  holder[probeKey] = value;
  let objectId: string | undefined;
  try {
    const evaluated = post<{ result: { objectId?: string } }>(inspector, 'Runtime.evaluate', {
      expression: `globalThis[Symbol.for('multiprocessing.functionProbe')]`,
    });
    objectId = evaluated.result.objectId;
    return objectId === undefined ? undefined : use(objectId);
  } finally {
    if (objectId !== undefined) post(inspector, 'Runtime.releaseObject', { objectId });
    delete holder[probeKey];
  }
}

function internalProperties(inspector: Session, objectId: string): Property[] {
  return (
    post<{ internalProperties?: Property[] }>(inspector, 'Runtime.getProperties', { objectId, ownProperties: true })
      .internalProperties ?? []
  );
}

function locate(fn: Function): Location | undefined {
  const inspector = debuggerSession();
  return withRemote(inspector, fn, (objectId) =>
    internalProperties(inspector, objectId).find((p) => p.name === '[[FunctionLocation]]')?.value?.value as Location | undefined,
  );
}

function toUrl(scriptUrl: string): string {
  return scriptUrl.startsWith('/') ? pathToFileURL(scriptUrl).href : scriptUrl;
}

/** Where a function was defined: its script (as V8 names it), and its position there. */
export interface FunctionPlace {
  readonly scriptId: string;
  /** As the inspector names it (a file URL, for CommonJS modules too). */
  readonly scriptUrl: string;
  /** The module as a URL. */
  readonly moduleUrl: string;
  readonly location: Location;
}

/** Finds the script that defines `fn`; undefined for native functions and code evaluated without a file. */
export function findFunctionPlace(fn: Function): FunctionPlace | undefined {
  if (!canLocateFunctions()) return undefined;
  const location = locate(fn);
  if (location === undefined) return undefined;
  const scriptUrl = scriptUrls.get(location.scriptId);
  if (scriptUrl === undefined || scriptUrl === '' || scriptUrl.startsWith('node:')) return undefined;
  return { scriptId: location.scriptId, scriptUrl, moduleUrl: toUrl(scriptUrl), location };
}

/** Finds where `fn` was defined; undefined for native functions and code evaluated without a file. */
export function findFunctionHome(fn: Function): FunctionHome | undefined {
  if (!canLocateFunctions()) return findImportedExport(fn, entryScriptUrl());
  const place = findFunctionPlace(fn);
  return place === undefined ? undefined : { moduleUrl: place.moduleUrl, exportName: exportNameOf(place, fn) };
}

/** Whether a module was loaded by CommonJS's loader (the inspector names every script by a file URL). */
export function isCommonJsModule(moduleUrl: string): boolean {
  return moduleUrl.startsWith('file:') && requireHere.cache[fileURLToPath(moduleUrl)] !== undefined;
}

/** The source of a script as V8 compiled it (after tsx's transform, say). */
export function scriptSource(scriptId: string): string {
  return post<{ scriptSource: string }>(debuggerSession(), 'Debugger.getScriptSource', { scriptId }).scriptSource;
}

/** The offset of a function's `[[FunctionLocation]]` in its script's source. */
export function offsetIn(source: string, place: FunctionPlace): number {
  return offsetOf(source, place.location);
}

interface ScopeEntry {
  readonly description?: string;
  readonly object?: Record<string, unknown>;
}

/**
 * Reads the current values of top-level variables that `fn` can see (its module's, or for CommonJS its
 * module wrapper's), through the function's `[[Scopes]]`: non-exported bindings have no other way out.
 * A name V8 did not keep (no closure uses it) is missing from the result.
 */
export function readOuterValues(fn: Function, names: readonly string[]): Map<string, unknown> {
  const inspector = debuggerSession();
  const values = new Map<string, unknown>();
  const scopes = withRemote(inspector, fn, (objectId) => {
    const scopesId = internalProperties(inspector, objectId).find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (scopesId === undefined) return undefined;
    const holder = globalThis as Record<symbol, unknown>;
    post(inspector, 'Runtime.callFunctionOn', {
      objectId: scopesId,
      functionDeclaration: `function () { globalThis[Symbol.for('multiprocessing.functionProbe')] = this; }`,
    });
    const list = holder[probeKey] as ArrayLike<ScopeEntry> | undefined;
    post(inspector, 'Runtime.releaseObject', { objectId: scopesId });
    return list === undefined ? undefined : Array.from(list);
  });
  if (scopes === undefined) return values;
  // The outermost scope that has the name: the module's (inner scopes cannot shadow a name the
  // function resolved to the top level).
  const outerFirst = scopes.filter((s) => s.description !== 'Global' && s.object !== undefined).reverse();
  for (const name of names) {
    const scope = outerFirst.find((s) => Object.prototype.hasOwnProperty.call(s.object, name));
    if (scope !== undefined) values.set(name, scope.object![name]);
  }
  return values;
}

/** The name under which `fn`'s module exports it, if it does. */
export function exportNameOf(place: FunctionPlace, fn: Function): string | undefined {
  const moduleUrl = place.moduleUrl;
  if (!moduleUrl.startsWith('file:')) return undefined;
  const cached = requireHere.cache[fileURLToPath(moduleUrl)];
  if (cached !== undefined) {
    const exported: unknown = cached.exports;
    if (exported === fn) return 'default';
    if (typeof exported === 'object' && exported !== null) {
      for (const [name, value] of Object.entries(exported)) if (value === fn) return name;
    }
    return undefined;
  }
  const source = scriptSource(place.scriptId);
  return exportedNameAt(source, offsetOf(source, place.location));
}

function offsetOf(source: string, location: Location): number {
  let offset = 0;
  for (let line = 0; line < location.lineNumber; line++) {
    const next = source.indexOf('\n', offset);
    if (next < 0) return source.length;
    offset = next + 1;
  }
  return offset + location.columnNumber;
}

type Node = Acorn.AnyNode;
type FunctionNode = Acorn.Function;

function isFunctionNode(node: Node | null | undefined): node is FunctionNode & Node {
  return (
    node !== null &&
    node !== undefined &&
    (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression')
  );
}

// esbuild's keepNames (used by tsx) wraps functions as `__name(fn, "name")`.
function unwrapFunction(node: Node | null | undefined): FunctionNode | undefined {
  if (isFunctionNode(node)) return node;
  if (node?.type === 'CallExpression' && node.callee.type === 'Identifier' && node.arguments.length >= 1) {
    const inner = node.arguments[0] as Node;
    if (isFunctionNode(inner)) return inner;
  }
  return undefined;
}

/** The exported name of the top-level function whose header contains `offset`, if it is exported. */
export function exportedNameAt(source: string, offset: number): string | undefined {
  const acorn = requireHere('acorn') as typeof Acorn;
  let program: Acorn.Program;
  try {
    program = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
  } catch {
    return undefined;
  }
  const defines = (fn: FunctionNode | undefined): boolean =>
    fn !== undefined && offset >= fn.start && offset <= fn.body.start;

  const topLevel = new Map<string, FunctionNode>();
  const exportedLocals: [local: string, exported: string][] = [];
  for (const statement of program.body) {
    const declaration = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type === 'FunctionDeclaration' && declaration.id) topLevel.set(declaration.id.name, declaration);
    if (declaration?.type === 'VariableDeclaration') {
      for (const declarator of declaration.declarations) {
        const fn = unwrapFunction(declarator.init);
        if (declarator.id.type === 'Identifier' && fn) topLevel.set(declarator.id.name, fn);
      }
    }
    if (statement.type === 'ExportNamedDeclaration') {
      if (statement.declaration?.type === 'FunctionDeclaration' && statement.declaration.id) {
        const name = statement.declaration.id.name;
        exportedLocals.push([name, name]);
      } else if (statement.declaration?.type === 'VariableDeclaration') {
        for (const d of statement.declaration.declarations) {
          if (d.id.type === 'Identifier') exportedLocals.push([d.id.name, d.id.name]);
        }
      } else if (statement.source === null || statement.source === undefined) {
        for (const specifier of statement.specifiers) {
          const local = specifier.local.type === 'Identifier' ? specifier.local.name : String(specifier.local.value);
          const exported =
            specifier.exported.type === 'Identifier' ? specifier.exported.name : String(specifier.exported.value);
          exportedLocals.push([local, exported]);
        }
      }
    }
    if (statement.type === 'ExportDefaultDeclaration') {
      const fn = unwrapFunction(statement.declaration as Node);
      if (defines(fn)) return 'default';
      if (statement.declaration.type === 'Identifier') exportedLocals.push([statement.declaration.name, 'default']);
    }
  }
  for (const [local, exported] of exportedLocals) if (defines(topLevel.get(local))) return exported;
  return undefined;
}

/**
 * The URL of the program's entry script (`process.argv[1]`): functions and classes defined there are
 * never sent by reference, since importing it in a worker would run the program again.
 */
export function entryScriptUrl(): string | undefined {
  const entry = process.argv[1];
  return entry === undefined ? undefined : pathToFileURL(resolvePath(entry)).href;
}
