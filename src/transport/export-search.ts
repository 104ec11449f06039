/**
 * Where the inspector cannot locate a function (Bun, Deno: see `function-location.ts`), the module
 * that exports it is looked for among its caller's files and the modules they import: a program passes
 * a pool or a `Process` the functions of its own modules far more often than any other.
 *
 * The callers are the files on the current stack outside this library, loaded already, and so are
 * their static imports (`import … from './tasks.js'`, not `import type`; a top-level
 * `const t = require('./tasks.cjs')`): a synchronous `require` returns their namespaces without running
 * anything (both runtimes `require` ES modules and TypeScript). A function found exported there goes
 * by `{ module, name }`, exactly as on Node. The entry script is never a candidate: importing it in a
 * worker would run the program again.
 *
 * An error brings its own callers: when it is sent, the code that threw it has usually returned, but its
 * stack still names the files it was thrown from (Bun's and Deno's frames name no constructor, so the
 * first is the throwing function's file), and the class of an error thrown there is, most often, one
 * that file exports or imports (`findExportFromStack`, for `class-locate.ts`).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A module that exports the function, and the name it exports it under. */
export interface FoundExport {
  readonly moduleUrl: string;
  readonly exportName: string;
}

// This library's own files (src/ or dist/), whose frames are not callers.
const libraryDir = fileURLToPath(new URL('..', import.meta.url));
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|^(?:const|let|var)\s[^=;]*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/gm;
// Per caller file: the files it imports, resolved.
const importsOf = new Map<string, readonly string[]>();

function callerFiles(): string[] {
  // The caller may be deeper than the default ten frames into this library.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return filesNamedIn(stack);
}

// The existing files outside this library that a stack's frames name (Bun: a path; Deno: a file URL).
function filesNamedIn(stack: string): string[] {
  const files = new Set<string>();
  for (const match of stack.matchAll(/(?:file:\/\/)?(\/[^\s():]+):\d+:\d+/g)) {
    const file = decodeURIComponent(match[1]!);
    if (!file.startsWith(libraryDir) && existsSync(file)) files.add(file);
  }
  return [...files];
}

// `./tasks.js` names `./tasks.ts` in TypeScript sources.
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return undefined;
  const base = resolvePath(dirname(from), specifier);
  const candidates = [base, base.replace(/\.(m|c)?js$/, '.$1ts'), base.replace(/\.jsx$/, '.tsx')];
  return candidates.find((file) => existsSync(file));
}

function importedFiles(caller: string): readonly string[] {
  let found = importsOf.get(caller);
  if (found === undefined) {
    let text = '';
    try {
      text = readFileSync(caller, 'utf8');
    } catch {
      // unreadable: no candidates
    }
    found = [...text.matchAll(STATIC_IMPORT)].map((m) => resolveImport(caller, (m[1] ?? m[2])!)).filter((f): f is string => f !== undefined);
    importsOf.set(caller, found);
  }
  return found;
}

/** The module among those the callers import that exports `fn`, and its export name. */
export function findImportedExport(fn: Function, entryScriptUrl: string | undefined): FoundExport | undefined {
  return findExportAmong(callerFiles(), fn, entryScriptUrl);
}

/** The module among the files `stack` names (an error's) and those they import that exports `fn`. */
export function findExportFromStack(stack: string, fn: Function, entryScriptUrl: string | undefined): FoundExport | undefined {
  return findExportAmong(filesNamedIn(stack), fn, entryScriptUrl);
}

function findExportAmong(callers: readonly string[], fn: Function, entryScriptUrl: string | undefined): FoundExport | undefined {
  for (const caller of callers) {
    const load = createRequire(caller);
    for (const file of [caller, ...importedFiles(caller)]) {
      const moduleUrl = pathToFileURL(file).href;
      if (moduleUrl === entryScriptUrl) continue;
      let namespace: unknown;
      try {
        namespace = load(file);
      } catch {
        continue;
      }
      if (typeof namespace !== 'object' || namespace === null) continue;
      for (const [name, value] of Object.entries(namespace)) if (value === fn) return { moduleUrl, exportName: name };
    }
  }
  return undefined;
}
