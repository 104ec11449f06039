/**
 * The one place that imports a module by a URL known only at run time (a role's module, a function's
 * or a shared kind's module).
 *
 * Why a home of its own: the built package bundles the library into one file, and keeps this module a
 * separate file beside it (scripts/build.mjs). tsx rewrites every ES module that contains an `import()`
 * (it appends an interop step to each and makes a fine-grained source map), which for the whole
 * bundle cost a program run under tsx about 100 ms at `import 'multiprocessing'`, and every worker the
 * same. Here it rewrites these few lines instead.
 */

/** `import(specifier)`: the module's namespace. */
export function importModule(specifier: string): Promise<Record<string, unknown>> {
  return import(specifier) as Promise<Record<string, unknown>>;
}
