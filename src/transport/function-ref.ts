/**
 * Sending side of function transport (the receiving side is `function-resolve.ts`, the wire form
 * `wire-function.ts`): how a function crosses into a worker. Tried in this order:
 *
 * 1. an explicit `{ module, name }` reference is used as is;
 * 2. a self-contained function (it uses only globals) is shipped by source and compiled again there;
 * 3. a function that uses outer variables is sent by reference when a module other than the entry
 *    script exports it: the worker imports that module and takes the export, so imports and module
 *    state work (as under Python's spawn). The worker checks that the export's source is the one sent.
 *    A function of Node's own modules (`setTimeout` of node:timers/promises) crosses by name the same
 *    way (`builtin-export.ts`), native ones too, and a global one (`Math.sqrt`) by its path;
 * 4. any other function (in the entry script, or not exported) is shipped with what it uses of its
 *    module, as cloudpickle ships a function with its globals (`module-scope.ts` decides what can
 *    travel): imports are made again in the worker, resolved from the function's own file; functions,
 *    classes and compiled helpers travel as source; other constants travel as a snapshot of their
 *    values taken when the function first crosses. The worker compiles it all at the same lines and
 *    columns of the same file name, so `import()` resolves and stack frames point as in the user's file.
 *
 * Anything else (a reassigned `let`, a local of an enclosing function, the `this` an arrow takes from the
 * method that created it: `enclosing-context.ts`) is refused at the call with an error that names the
 * variables and the fix. Steps 3 and 4 use the inspector (`function-location.ts`):
 * plainly self-contained functions never load it, nor the parser.
 */
import { runtimeFunctionWire } from './builtin-export.js';
import { contextMemberWire } from './context-members.js';
import { canLocateFunctions, entryScriptUrl, findFunctionHome, findFunctionPlace, exportNameOf, isCommonJsModule, offsetIn, readOuterValues, scriptSource, type FunctionPlace } from './function-location.js';
import { enclosingContextReason } from './enclosing-context.js';
import { parseFunction } from './free-variables.js';
import { planScope, ScopeRefusal } from './module-scope.js';
import { findUncloneable, type Packed } from './payload.js';
import { piecesMappings, placementOf, rememberOrigin, type Placement } from './stack-frames.js';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { describeValue, misuse } from '../errors.js';
import { cloneKeepingSharedBuffers } from '../runtime/process/message-codec.js';
import type { FunctionReference, WireFunction } from './wire-function.js';

export type { FunctionReference, WireFunction } from './wire-function.js';

/** Packs the constants a function takes along (`pack`, passed in by the one who composes). */
export type PackValues = (value: unknown, path: string) => Packed;

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



/**
 * Turns a function (or an explicit reference) into what crosses into a worker, or throws a `TypeError`
 * that says why it cannot cross and how to fix it. `role` names it in messages (`'target'`, `'args[1]'`).
 * `pack.ts` composes it with `pack` as `toWireFunction` (a function's constants may hold shared objects
 * and functions, and packed values hold functions).
 */
export function wireFunctionOf(fn: Function | FunctionReference, role: string, packValues: PackValues): WireFunction {
  if (typeof fn !== 'function') {
    if (isReference(fn)) return { by: 'module', module: moduleSpecifier(fn.module), name: fn.name, source: null };
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `${role} must be a function or a { module, name } reference, not ${describeValue(fn)}`);
  }
  const cached = cache.get(fn);
  if (cached !== undefined) return cached;
  const member = contextMemberWire(fn);
  if (member !== undefined) return member;
  let wire = analyse(fn, role, packValues);
  if (wire.by === 'source' && wire.scope === undefined) {
    wire = { ...wire, origin: rememberOrigin(fn, wire.expression) };
  }
  cache.set(fn, wire);
  return wire;
}

const placed = new WeakMap<Function, WireFunction>();

/**
 * As `wireFunctionOf`, for a function whose child prints its errors itself (a `Process` target): one
 * shipped alone takes its placement along, so the child's traceback points at the user's file, line and
 * column, as a pool's errors do once the parent has placed their frames (`locateShippedFrames`). This
 * costs the inspector, once per function (about 30 ms for the first one of a program); a pool's tasks
 * do without it.
 */
export function placedWireFunctionOf(fn: Function | FunctionReference, role: string, packValues: PackValues): WireFunction {
  const wire = wireFunctionOf(fn, role, packValues);
  if (typeof fn !== 'function' || wire.by !== 'source' || wire.scope !== undefined) return wire;
  let found = placed.get(fn);
  if (found === undefined) {
    let placement: Placement | undefined;
    try {
      placement = canLocateFunctions() ? placementOf(fn, wire.expression) : undefined;
    } catch {
      placement = undefined; // a traceback that names the function only: not a reason to refuse it
    }
    found = placement === undefined ? wire : { ...wire, placement };
    placed.set(fn, found);
  }
  return found;
}

function analyse(fn: Function, role: string, packValues: PackValues): WireFunction {
  const label = fn.name && fn.name !== role ? `${role} '${fn.name}'` : role;
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}$/.test(source)) {
    const runtime = runtimeFunctionWire(fn, source);
    if (runtime !== undefined) return runtime;
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_UNSENDABLE',
      `${label} is a native or bound function, which cannot be sent to a worker. ` +
        `Wrap it in a function of your own (exported from a module, or self-contained), ` +
        `or pass { module, name } for a function a module exports.`,
    );
  }
  const parsed = parseFunction(source, isGlobalName);
  const outer = parsed?.freeVariables.filter((name) => !isGlobalName(name)) ?? [];
  // An arrow's `this` and the like: fine by reference; with its scope, only at an ES module's top level
  // (enclosing-context.ts); never by source alone.
  const context = parsed?.context ?? [];
  const alone = parsed !== undefined && outer.length === 0 && context.length === 0;
  // `import()` resolves against the file that holds the code: such a function goes with its module's
  // file name, by reference or with its scope.
  const needsItsModule = /\bimport\s*(\(|\.\s*meta)/.test(source);
  if (alone && !needsItsModule) {
    return { by: 'source', expression: parsed.expression, name: fn.name };
  }

  if (!canLocateFunctions()) {
    const home = findFunctionHome(fn);
    if (home?.exportName !== undefined) return { by: 'module', module: home.moduleUrl, name: home.exportName, source };
  }
  const place = findFunctionPlace(fn);
  if (place === undefined) {
    // Defined by Node itself (`setTimeout` of node:timers/promises, the global `fetch`), or evaluated
    // without a file.
    const runtime = runtimeFunctionWire(fn, source);
    if (runtime !== undefined) return runtime;
  }
  const isEntry = place !== undefined && place.moduleUrl === entryScriptUrl();
  if (place !== undefined && !isEntry) {
    const exportName = exportNameOf(place, fn);
    if (exportName !== undefined) return { by: 'module', module: place.moduleUrl, name: exportName, source };
  }
  // A function that uses `import.meta` is shipped with its scope, where `import.meta` is provided.
  const usesImportMeta = /\bimport\s*\.\s*meta\b/.test(source);
  const shipped = place === undefined ? undefined : withScope(fn, place, source, label, packValues);
  if (shipped !== undefined && !(shipped instanceof ScopeRefusal)) return shipped;
  if (alone) return { by: 'source', expression: parsed.expression, name: fn.name };
  // (An arrow using `super` or `new.target` does not parse alone, but its refusal names them.)
  if (parsed === undefined && !(shipped instanceof ScopeRefusal)) {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_UNSENDABLE',
      `${label} cannot be sent to a worker: its source could not be compiled on its own ` +
        `and no module exports it. Export it from a module (not the entry script), or pass { module, name }.`,
    );
  }
  // Where the function was defined matters only for its module's variables: what an arrow takes from the
  // code around it (`this`) cannot travel wherever it was written.
  if (place === undefined && !canLocateFunctions() && (outer.length > 0 || usesImportMeta)) throw unlocatable(label, [...outer, ...context], usesImportMeta);
  const why = usesImportMeta ? 'outside it, and it uses import.meta, which only its module has' : 'outside it, in a module that could not be analysed';
  const problems = shipped?.problems ?? [
    ...outer.map((name) => ({ name, reason: why })),
    ...context.map((name) => ({ name, reason: enclosingContextReason(name) })),
  ];
  const names = problems.map(({ name }) => `'${name}'`).join(', ');
  const details = problems.map(({ name, reason }) => `'${name}' is ${reason}`).join('; ');
  const where = place === undefined || isEntry ? '' : ` Its module (${place.moduleUrl}) does not export it.`;
  throw misuse(
    TypeError,
    'ERR_MP_FUNCTION_UNSENDABLE',
    `${label} uses variables from outside its body (${names}) that cannot travel with it: ${details}. ` +
      `Only its module's imports, constants, functions and classes travel with a function.${where} ` +
      `Fix: pass ${problems.length === 1 ? 'that value as an argument' : 'those values as arguments'} (or make a reassigned ` +
      `variable a const, or a shared Value), or move the function into a module other than the entry script and ` +
      `export it (the worker then imports that module, so its imports and module state work).`,
  );
}

// Bun and Deno cannot say where a function was defined (function-location.ts): only what it names
// tells how it could cross.
function unlocatable(label: string, outer: readonly string[], usesImportMeta: boolean): TypeError {
  const uses = [...outer.map((name) => `'${name}'`), ...(usesImportMeta ? ['import.meta'] : [])].join(', ');
  return misuse(
    TypeError,
    'ERR_MP_FUNCTION_UNSENDABLE',
    `${label} uses ${uses} from outside its body, and this runtime cannot tell which module defines it (its ` +
      `node:inspector cannot locate functions; Node's can), so it cannot be sent with its module. Fix: export it ` +
      `from a module that the calling file imports (other than the entry script), or pass { module, name } ` +
      `(module: that module's URL or path), or make it self-contained ` +
      `(pass what it uses as arguments; a node: module can be imported inside it with await import()).`,
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
function withScope(fn: Function, place: FunctionPlace, text: string, label: string, packValues: PackValues): WireFunction | ScopeRefusal | undefined {
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
    const packed = packValues(Object.fromEntries(read), 'constants');
    let snapshot: unknown;
    try {
      // Cloned now, so every worker (a replacement started later too) gets the values of this moment;
      // shared memory stays the same buffers, so it crosses as it does in arguments (a copy of a
      // process-shared buffer would be unknown to the registry that sends it to a process child).
      snapshot = cloneKeepingSharedBuffers(packed.value);
    } catch (error) {
      const uncloneable = findUncloneable(packed.value, 'constants');
      throw misuse(
        TypeError,
        'ERR_MP_FUNCTION_UNSENDABLE',
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
