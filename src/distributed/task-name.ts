/**
 * How a function is named on a cluster: by its module and export, never by its code.
 *
 * Shipping source (what the local pool does for self-contained functions, and cloudpickle does for
 * Python) would mean that whoever can write to Redis runs code on every worker: Python's pickle hole.
 * So a task is `{ module, name, hash }`: the module as a path relative to the current directory (the
 * driver's and, by convention, the worker's: deploy the same tree), the export's name, and the sha256 of
 * the module's file, so a worker refuses a task from a different build of that file. Workers run only
 * exports of the modules they were told to import (`--import`), matched by that relative path.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute, relative, resolve as resolvePath, sep } from 'node:path';
import { describeValue, misuse } from '../errors.js';
import { canLocateFunctions, entryScriptUrl, exportNameOf, findFunctionHome, findFunctionPlace } from '../transport/function-location.js';
import type { FunctionReference } from '../transport/wire-function.js';

/** A task's name on the wire. */
export interface TaskName {
  /** `./path/from/cwd.js` for a file, or a package specifier. */
  readonly module: string;
  /** The export's name (`default` for a default export). */
  readonly name: string;
  /** sha256 (hex) of the module's file; empty for a package specifier (not checked). */
  readonly hash: string;
}

const hashes = new Map<string, string>();

/** sha256 of a module's file, read once per process (a worker compares it with the driver's). */
export function moduleHash(fileUrl: string): string {
  let hash = hashes.get(fileUrl);
  if (hash === undefined) {
    hash = createHash('sha256').update(readFileSync(fileURLToPath(fileUrl))).digest('hex');
    hashes.set(fileUrl, hash);
  }
  return hash;
}

/**
 * A module's name for tasks: its file relative to `root` (`./tasks.js`), POSIX separators.
 * @example `moduleName('file:///app/dist/tasks.js', '/app') // './dist/tasks.js'`
 */
export function moduleName(fileUrl: string, root = process.cwd()): string {
  const path = relative(root, fileURLToPath(fileUrl)).split(sep).join('/');
  return path.startsWith('../') || isAbsolute(path) ? fileURLToPath(fileUrl) : `./${path}`;
}

/**
 * The file URL of a module named on the command line or in a reference (a path from `root`, an
 * absolute path or a file URL); `undefined` for a package specifier.
 */
export function moduleUrl(specifier: string | URL, root = process.cwd()): string | undefined {
  if (specifier instanceof URL) return specifier.href;
  if (specifier.startsWith('file:')) return specifier;
  if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolvePath(root, specifier)).href;
  return undefined;
}

function named(moduleSpecifier: string | URL, name: string): TaskName {
  const url = moduleUrl(moduleSpecifier);
  if (url === undefined) return { module: String(moduleSpecifier), name, hash: '' };
  return { module: moduleName(url), name, hash: moduleHash(url) };
}

const refusal =
  'on a cluster a task is named by its module and export, never shipped as code (whoever can write to Redis ' +
  'would run code on every worker: the hole of pickled functions in Python)';

const cache = new WeakMap<Function, TaskName>();

/**
 * The name of `fn` (a function a module exports, or `{ module, name }`), or a `TypeError`
 * (`ERR_MP_FUNCTION_UNSENDABLE`) that says why it has none and how to give it one.
 *
 * @example `taskNameOf(cube) // { module: './dist/tasks.js', name: 'cube', hash: '9f…' }`
 */
export function taskNameOf(fn: unknown): TaskName {
  if (typeof fn === 'object' && fn !== null && typeof (fn as FunctionReference).name === 'string') {
    const reference = fn as FunctionReference;
    if (typeof reference.module === 'string' || reference.module instanceof URL) return named(reference.module, reference.name);
  }
  if (typeof fn !== 'function') {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `fn must be a function or a { module, name } reference, not ${describeValue(fn)}`);
  }
  const cached = cache.get(fn);
  if (cached !== undefined) return cached;
  const label = fn.name ? `fn '${fn.name}'` : 'fn';
  if (!canLocateFunctions()) return nameUnlocated(fn, label);
  const place = findFunctionPlace(fn);
  if (place === undefined || !place.moduleUrl.startsWith('file:')) {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_UNSENDABLE',
      `${label} is not defined in a module file: ${refusal}. Export it from a module, start the workers with --import <that module>, and pass the function (or { module, name }).`,
    );
  }
  if (place.moduleUrl === entryScriptUrl()) {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_UNSENDABLE',
      `${label} is defined in the entry script (${moduleName(place.moduleUrl)}), which workers cannot import without running your program: ` +
        `${refusal}. Move it into a module, export it, and start the workers with --import <that module>.`,
    );
  }
  const name = exportNameOf(place, fn);
  if (name === undefined) {
    throw misuse(
      TypeError,
      'ERR_MP_FUNCTION_UNSENDABLE',
      `${label} is not exported by its module (${moduleName(place.moduleUrl)}): ${refusal}. Export it, and start the workers with --import ${moduleName(place.moduleUrl)}.`,
    );
  }
  const task = named(place.moduleUrl, name);
  cache.set(fn, task);
  return task;
}

/**
 * Bun and Deno cannot say where a function was defined (`function-location.ts`): a function is named
 * when a module its caller imports exports it (`export-search.ts`, as the local pool does), else it is
 * refused for that reason, with the fix that always works there: `{ module, name }`.
 */
function nameUnlocated(fn: Function, label: string): TaskName {
  const home = findFunctionHome(fn);
  if (home?.exportName !== undefined && home.moduleUrl.startsWith('file:')) {
    const task = named(home.moduleUrl, home.exportName);
    cache.set(fn, task);
    return task;
  }
  const runtime = process.versions.bun !== undefined ? 'Bun' : 'Deno';
  throw misuse(
    TypeError,
    'ERR_MP_FUNCTION_UNSENDABLE',
    `${label} cannot be named for the workers: ${runtime} cannot tell where a function was defined, and no module that the ` +
      `calling file imports exports it. Pass { module, name } instead of the function: ` +
      `{ module: './dist/tasks.js', name: '${fn.name || 'cube'}' } (the module the workers serve, relative to the current directory).`,
  );
}
