/**
 * What a new child (a worker thread or a `'process'` child) loads to have this library: the module
 * that registered the child's role, as the program loaded it.
 *
 * - From the sources (tests under tsx): that module itself, imported.
 * - In the built package, the library is one CommonJS bundle (`dist/cjs/library.js`) behind a loader
 *   that compiles it with a V8 code cache (`loader/code-cache.cts`): a child requires that loader, so
 *   that it skips the compile too. A CommonJS file is `require`d, not imported: an `import()` of one
 *   first scans its whole text for export names. (The `multiprocessing/distributed` subpath's bundles
 *   hold none of this module: they take the core from that library.)
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

// Defined by the build (scripts/build.mjs): the bundle's format, and the file beside it that loads it.
declare const __MP_BUNDLE_FORMAT__: string | undefined;
declare const __MP_LIBRARY_LOADER__: string | undefined;

/** How to load the library in a child: a CommonJS file to `require`, or an ES module URL to `import()`. */
export interface LibraryEntry {
  readonly format: 'cjs' | 'esm';
  /** A file URL. */
  readonly url: string;
}

/** The entry of the library whose module `moduleUrl` registered a role. */
export function libraryEntry(moduleUrl: string): LibraryEntry {
  const format = typeof __MP_BUNDLE_FORMAT__ !== 'undefined' && __MP_BUNDLE_FORMAT__ === 'cjs' ? 'cjs' : 'esm';
  if (format === 'cjs' && typeof __MP_LIBRARY_LOADER__ !== 'undefined') {
    return { format, url: pathToFileURL(fileURLToPath(new URL(__MP_LIBRARY_LOADER__, moduleUrl))).href };
  }
  return { format, url: moduleUrl };
}
