/**
 * The package's entry in the build (`dist/cjs/index.js`; the ES module `dist/esm/index.js` re-exports
 * it): it loads the library (`dist/cjs/library.js`, one CommonJS bundle) with a V8 code cache, as
 * Python keeps compiled modules in `__pycache__`.
 *
 * Why: every worker thread and every child process imports the whole library again, and V8 spends
 * about 10 ms compiling its text in each, more than any other part of a worker's start that the library
 * controls. With the code V8 produced on an earlier run, that becomes about 1 ms. Node 20 has no
 * compile cache for modules (`module.enableCompileCache` came in 22.1) and none for ES modules through
 * any API, hence one CommonJS library behind both entries, compiled here with `vm.Script`'s
 * `cachedData`. A welcome consequence: ES module and CommonJS users share one copy of the library.
 *
 * - The cache lives in a directory of this user's own under the system's temporary directory
 *   (`multiprocessing-v8-cache-<uid>`, mode 0700, checked to be ours and private before any use: code
 *   read from a directory that someone else could write would run as us). Each file is named by the
 *   library's build id (a hash of its code, written by the build) and by the Node version and
 *   architecture; V8 checks the source's length and its own flags again: data it rejects is compiled
 *   afresh and replaced.
 * - A missing, unwritable or rejected cache only costs the compile: it never fails a load. The cache
 *   is written atomically (a temporary file renamed) by the threads that compiled without it: worker
 *   threads at once, a process's main thread as it exits, with the code its run compiled since;
 *   the newest few are kept (`KEPT_CACHES`), so rebuilds and upgrades do not pile files up.
 * - Bun and Deno have other engines (or no `cachedData`): they `require` the library as it is.
 * - `MULTIPROCESSING_NO_CODE_CACHE=1` turns the cache off.
 */
import { createRequire, Module } from 'node:module';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

const LIBRARY = join(__dirname, 'library.js');
// Caches kept: one per build of the library, install of it and Node version in use;
// the oldest beyond this are removed when a new one is written, so rebuilds and upgrades do not pile up.
const KEPT_CACHES = 8;

function load(): unknown {
  const requireLibrary = createRequire(LIBRARY);
  const loaded = requireLibrary.cache[LIBRARY];
  if (loaded !== undefined) return loaded.exports;
  const directory = cacheDirectory();
  if (directory === undefined) return requireLibrary(LIBRARY);

  const source = readFileSync(LIBRARY, 'utf8');
  const cacheFile = join(directory, `library-${buildId(source)}-${pathId(LIBRARY)}-${process.version}-${process.arch}.bin`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache yet: compiled below, and written.
  }
  const script = new vm.Script(Module.wrap(source), { filename: LIBRARY, cachedData });
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;
  // Registered before it runs, as `require` does, so that `require` and `import` of the library's own
  // file (a worker importing "the module of a role") find this copy.
  const library = new Module(LIBRARY, module);
  library.filename = LIBRARY;
  requireLibrary.cache[LIBRARY] = library;
  try {
    wrapper.call(library.exports, library.exports, requireLibrary, library, LIBRARY, dirname(LIBRARY));
  } catch (error) {
    delete requireLibrary.cache[LIBRARY];
    throw error;
  }
  library.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // V8's cache holds the functions compiled so far. A process's main thread writes it as the process
    // exits, so that it holds what a pool's start and first tasks compiled too (measured: 3 ms less from
    // a fresh process to its first result than a cache of the library's top level alone). A worker
    // thread writes at once: it starts before its program exits, whose cache then replaces its own.
    if (isMainThread) process.once('exit', () => writeCache(cacheFile, script));
    else writeCache(cacheFile, script);
  }
  return library.exports;
}

/**
 * The build's id, from the line the build writes at the library's end (`// multiprocessing-build: <hash>`);
 * for a library built otherwise, its size and time of change. V8 checks cached code against the
 * source's length only, so a name that two different builds could share would run stale code.
 */
function buildId(source: string): string {
  const marker = '// multiprocessing-build: ';
  const at = source.lastIndexOf(marker);
  if (at !== -1) return source.slice(at + marker.length, source.indexOf('\n', at)).trim();
  const { size, mtimeMs } = statSync(LIBRARY);
  return `${size}-${Math.trunc(mtimeMs)}`;
}

/**
 * A short id of the library's path. V8 (Node 20) keeps the script name that cached code was made with,
 * so two installs of one build (two projects) sharing a cache made one's stack frames name the other's
 * files: each install has its own cache. FNV-1a, because loading node:crypto here would cost start-up.
 */
function pathId(path: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** This user's private cache directory, made if needed; undefined when it cannot be trusted or used. */
function cacheDirectory(): string | undefined {
  if (process.env.MULTIPROCESSING_NO_CODE_CACHE === '1') return undefined;
  if (process.versions.bun !== undefined || 'Deno' in globalThis) return undefined;
  const uid = process.getuid?.();
  const directory = join(tmpdir(), `multiprocessing-v8-cache-${uid ?? 'user'}`);
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch {
    // It exists already (checked next), or cannot be made (then the check fails too).
  }
  try {
    const stats = lstatSync(directory);
    if (!stats.isDirectory()) return undefined;
    if (uid !== undefined && (stats.uid !== uid || (stats.mode & 0o077) !== 0)) return undefined;
    return directory;
  } catch {
    return undefined;
  }
}

function writeCache(cacheFile: string, script: vm.Script): void {
  // Unique to this thread: threads of one process may write at once.
  const temporary = `${cacheFile}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
    renameSync(temporary, cacheFile);
  } catch {
    // A full disk or a read-only directory: the next load compiles again.
    return;
  }
  pruneCaches(dirname(cacheFile));
}

function pruneCaches(directory: string): void {
  try {
    const caches = readdirSync(directory)
      .filter((name) => name.startsWith('library-') && name.endsWith('.bin'))
      .map((name) => ({ file: join(directory, name), used: statSync(join(directory, name)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const { file } of caches.slice(KEPT_CACHES)) unlinkSync(file);
  } catch {
    // Another thread pruned at the same time: what it left is fine.
  }
}

module.exports = load();
