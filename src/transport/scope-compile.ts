/**
 * The worker side of `module-scope.ts`: compiles a function shipped with what it uses of its module.
 *
 * The pieces of source are laid out at their own lines and columns and compiled with
 * `vm.compileFunction` under the file's own name (marked, see `stack-frames.ts`), with the imports and
 * constants as parameters. So stack frames point into the user's file, and `import()` inside the code
 * resolves from that file through the program's loader (tsx's hooks included), as it would there.
 */
import { createRequire, isBuiltin } from 'node:module';
import vm from 'node:vm';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMMONJS_PROVIDED, INLINE_TARGET, keepNamesHelper, type ScopePiece, type WireScope } from './module-scope.js';
import { misuse } from '../errors.js';
import { COMPILED_MARK, registerMappings } from './stack-frames.js';
import { whileImporting, whileImportingSync } from '../runtime/identity.js';
import { importModule } from '../runtime/import-module.js';

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

function compileIn(file: string, body: string, parameters: string[]): Function {
  const filename = file + COMPILED_MARK;
  const options = defaultLoader === undefined ? { filename } : { filename, importModuleDynamically: defaultLoader };
  const compiled = vm.compileFunction(body, parameters, options as vm.CompileFunctionOptions);
  // The thread's first such import() warns: make it here, quietly, before the user's code can.
  if (!warned && defaultLoader !== undefined) {
    quietly(() => vm.compileFunction('return import("node:vm")', [], options as vm.CompileFunctionOptions)() as Promise<unknown>).catch(() => {});
  }
  return compiled;
}

/** Without Node's default loader for compiled code: resolve here, as `require` would, then import. */
function absoluteSpecifier(specifier: string, file: string): string {
  if (isBuiltin(specifier) || /^[a-z][a-z\d+.-]*:/i.test(specifier)) return specifier;
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  return pathToFileURL(createRequire(path).resolve(specifier)).href;
}

// The `import` of `import.meta` (not of `import(...)` or of a declaration), and its stand-in.
const IMPORT_META = /\bimport(?=\s*\.\s*meta\b)/g;
const META_HOLDER = '__impt';

/** What `import.meta` holds in the module `file`. */
function importMetaOf(file: string): Record<string, unknown> {
  const url = file.startsWith('file:') ? file : pathToFileURL(file).href;
  const meta: Record<string, unknown> = { url };
  if (url.startsWith('file:')) {
    const filename = fileURLToPath(url);
    meta.filename = filename;
    meta.dirname = dirname(filename);
    meta.resolve = (specifier: string): string => absoluteSpecifier(specifier, url);
  }
  return meta;
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
 * its constants from the snapshot (`values`, already unpacked), its module's functions and classes
 * laid out at their places.
 */
export async function compileInScope(scope: WireScope, values: Record<string, unknown>, name: string): Promise<Function> {
  const file = scope.file;
  const namespaces: Record<string, unknown>[] = [];
  if (scope.imports.length > 0) {
    const importThere =
      defaultLoader === undefined
        ? (specifier: string) => importModule(absoluteSpecifier(specifier, file))
        : (compileIn(file, 'return import(specifier);', ['specifier']) as (specifier: string) => Promise<Record<string, unknown>>);
    const importer = file.startsWith('file:') ? fileURLToPath(file) : file;
    // One at a time, in the module's order, so a module that starts processes when imported is named.
    for (const { specifier } of scope.imports) {
      namespaces.push(await whileImporting(`'${specifier}' (as ${importer} imports it)`, () => quietly(() => importThere(specifier))));
    }
  }
  const parameters = ['__name', INLINE_TARGET];
  const argumentsList: unknown[] = [keepNamesHelper, undefined];
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
  let body = `${layOut(scope.pieces)}\n;return ${scope.result};`;
  if (IMPORT_META.test(body)) {
    // `import.meta` exists only in module code: the keyword becomes a parameter of the same length, so
    // columns stay the file's, and `import.meta` reads as it would in the user's module.
    body = body.replace(IMPORT_META, META_HOLDER);
    parameters.push(META_HOLDER);
    argumentsList.push({ meta: importMetaOf(file) });
  }
  const factory = compileIn(file, body, parameters);
  if (scope.mappings !== undefined) registerMappings(file + COMPILED_MARK, scope.mappings);
  const fn: unknown = factory(...argumentsList);
  if (typeof fn !== 'function') {
    throw misuse(TypeError, 'ERR_MP_INTERNAL', `${name || 'a function'} shipped from ${file} did not compile to a function`);
  }
  return fn;
}
