/**
 * Receiving side of function transport: turns a `WireFunction` back into a function, by compiling its
 * source (with its module scope, `scope-compile.ts`, when it came with one) or by importing its module
 * and taking the export. The sending side is `function-ref.ts`.
 */
import { keepNamesHelper, type WireScope } from './module-scope.js';
import type { Packed } from './payload.js';
import { dataModuleLabel, registerPlacement, sourceBody } from './stack-frames.js';
import { whileImporting } from '../runtime/identity.js';
import { beforeImport } from '../runtime/typescript-hooks.js';
import { importModule } from '../runtime/import-module.js';
import { misuse } from '../errors.js';
import { wireKey, type WireFunction } from './wire-function.js';
import { contextMember, contextMemberNow } from './context-members.js';

const resolved = new Map<string, Promise<Function>>();

/** Rebuilds the constants a function was shipped with (`unpack`, passed in by the one who composes). */
export type UnpackValues = (packed: Packed) => Promise<unknown>;

/**
 * Compiles or imports a function sent by `toWireFunction`. Cached per thread. `unpack.ts` composes it
 * with `unpack` (a function's constants may hold shared objects, and unpacked values hold functions).
 */
export function resolveFunction(wire: WireFunction, unpackValues: UnpackValues): Promise<Function> {
  // Before the cache: the same function may have come without its placement first.
  if (wire.by === 'source' && wire.placement !== undefined) registerPlacement(dataModuleLabel(wire.name, wire.origin), wire.placement);
  const key = wireKey(wire);
  let found = resolved.get(key);
  if (found === undefined) {
    found =
      wire.by === 'context'
        ? contextMember(wire)
        : wire.by === 'global'
          ? new Promise<Function>((resolve) => resolve(globalFunction(wire)))
          : wire.by === 'module'
          ? importExport(wire)
          : wire.scope === undefined
            ? new Promise<Function>((resolve) => resolve(compile(wire)))
            : compileWithScope(wire, wire.scope, unpackValues);
    resolved.set(key, found);
    found.catch(() => resolved.delete(key));
  }
  return found;
}

/**
 * Compiles a function shipped by source (alone: it uses no outer variable and no `import()`), at once.
 * With `new Function`, not as a `data:` module: a worker's first `import()` starts its ES module loader,
 * about 2 ms before its first task could run. A function declaration stays a declaration (declared in
 * the body, then returned), and the code is strict, as in a module. Its frames read
 * `multiprocessing-source:<name>~<origin>`, which `cleanStack` (stack-frames.ts) turns into the
 * positions of the data module that `locateShippedFrames` expects. `__name` is esbuild's keepNames
 * helper (tsx's output uses it).
 */
function compile(wire: Extract<WireFunction, { by: 'source' }>): Function {
  const factory = new Function('__name', sourceBody(wire.expression, dataModuleLabel(wire.name, wire.origin))) as (
    helper: typeof keepNamesHelper,
  ) => Function;
  return factory(keepNamesHelper);
}

/**
 * Compiles a function shipped by source at once, for callers that cannot wait (a barrier's action run
 * by a blocking `wait()`); `undefined` for a function that must be imported or compiled with its scope.
 */
export function resolveWireFunctionSync(wire: WireFunction): Function | undefined {
  if (wire.by === 'context') return contextMemberNow(wire);
  if (wire.by === 'global') return globalFunction(wire);
  if (wire.by !== 'source' || wire.scope !== undefined) return undefined;
  return compile(wire);
}

async function compileWithScope(wire: Extract<WireFunction, { by: 'source' }>, scope: WireScope, unpackValues: UnpackValues): Promise<Function> {
  // Its imports (and any import() it makes) resolve from the user's file, which may be TypeScript.
  await beforeImport(scope.file);
  const values = wire.values === undefined ? {} : ((await unpackValues(wire.values)) as Record<string, unknown>);
  // Loaded on first use: workers that only receive self-contained functions never need it.
  const { compileInScope } = await import('./scope-compile.js');
  return compileInScope(scope, values, wire.name);
}

/**
 * The function at `wire.path` of this thread's globals, bound to what holds it: some need it as `this`
 * (`Promise.resolve`), and the worker calls them alone.
 */
function globalFunction(wire: Extract<WireFunction, { by: 'global' }>): Function {
  const keys = wire.path.split('.');
  let holder: unknown;
  let value: unknown = globalThis;
  for (const key of keys) {
    holder = value;
    value = holder === null || holder === undefined ? undefined : (holder as Record<string, unknown>)[key];
  }
  if (typeof value !== 'function') {
    throw misuse(TypeError, 'ERR_MP_FUNCTION_NOT_FOUND', `this runtime has no global function ${wire.path} (found ${typeof value}), which the parent sent`);
  }
  return keys.length > 1 ? (value as Function).bind(holder) : value;
}

async function importExport(wire: Extract<WireFunction, { by: 'module' }>): Promise<Function> {
  await beforeImport(wire.module);
  const namespace = await whileImporting(wire.module, () => importModule(wire.module));
  let value = namespace[wire.name];
  const commonJs = namespace.default;
  if (value === undefined && typeof commonJs === 'object' && commonJs !== null) {
    value = (commonJs as Record<string, unknown>)[wire.name];
  }
  if (typeof value !== 'function') {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_NOT_FOUND',
      `module ${wire.module} has no exported function named '${wire.name}' ` +
        `(found ${value === undefined ? 'nothing' : typeof value}). Check the { module, name } reference.`,
    );
  }
  if (wire.source !== null && Function.prototype.toString.call(value) !== wire.source) {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_CHANGED',
      `module ${wire.module} exports a different '${wire.name}' in this worker than the function the parent sent ` +
        `(the file may have changed since the parent loaded it). Restart the program.`,
    );
  }
  return value;
}
