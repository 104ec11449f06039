/**
 * Receiving side of function transport: turns a `WireFunction` back into a function, by compiling its
 * source (with its module scope, `scope-compile.ts`, when it came with one) or by importing its module
 * and taking the export. The sending side is `function-ref.ts`.
 */
import { keepNamesHelper, type WireScope } from './module-scope.js';
import type { Packed } from './payload.js';
import { asDeclaration, dataModuleLabel } from './stack-frames.js';
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
  const key = wireKey(wire);
  let found = resolved.get(key);
  if (found === undefined) {
    found =
      wire.by === 'context'
        ? contextMember(wire)
        : wire.by === 'module'
          ? importExport(wire)
          : wire.scope === undefined
            ? compile(wire)
            : compileWithScope(wire, wire.scope, unpackValues);
    resolved.set(key, found);
    found.catch(() => resolved.delete(key));
  }
  return found;
}

/**
 * Compiles a function shipped by source as the default export of a small module (a `data:` URL).
 * As module code it is strict, and a function declaration stays a declaration: a recursive function
 * compiled with `new Function` as a named function expression ran 5–10% slower here. `__name` is
 * esbuild's keepNames helper (tsx's output uses it). Every '.' is escaped too: Bun (1.4) takes a `data:`
 * URL with a '.' anywhere in it for a file with that extension, and its default export for the URL string.
 */
async function compile(wire: Extract<WireFunction, { by: 'source' }>): Promise<Function> {
  const expression = wire.expression;
  const text =
    'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });\n' +
    `export default ${asDeclaration(expression)};\n`;
  const label = dataModuleLabel(wire.name, wire.origin);
  const url = `data:text/javascript;multiprocessing=${encodeURIComponent(label)},${encodeURIComponent(text)}`.replace(/\./g, '%2E');
  await beforeImport(url);
  const namespace = (await importModule(url)) as { default: Function };
  return namespace.default;
}

/**
 * Compiles a function shipped by source at once, for callers that cannot wait (a barrier's action run
 * by a blocking `wait()`); `undefined` for a function that must be imported. Compiled with
 * `new Function`, which is synchronous but runs recursive code a little slower than `compile`.
 */
export function resolveWireFunctionSync(wire: WireFunction): Function | undefined {
  if (wire.by === 'context') return contextMemberNow(wire);
  if (wire.by !== 'source' || wire.scope !== undefined) return undefined;
  const label = `multiprocessing:${dataModuleLabel(wire.name, undefined)}`;
  const factory = new Function('__name', `"use strict";\nreturn ${wire.expression};\n//# sourceURL=${label}`) as (
    helper: typeof keepNamesHelper,
  ) => Function;
  return factory(keepNamesHelper);
}

async function compileWithScope(wire: Extract<WireFunction, { by: 'source' }>, scope: WireScope, unpackValues: UnpackValues): Promise<Function> {
  // Its imports (and any import() it makes) resolve from the user's file, which may be TypeScript.
  await beforeImport(scope.file);
  const values = wire.values === undefined ? {} : ((await unpackValues(wire.values)) as Record<string, unknown>);
  // Loaded on first use: workers that only receive self-contained functions never need it.
  const { compileInScope } = await import('./scope-compile.js');
  return compileInScope(scope, values, wire.name);
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
