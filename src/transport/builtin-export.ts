/**
 * Functions of Node's own modules cross by name, as Python's pickle sends `time.sleep`: the worker
 * imports the module and takes the export. Such a function cannot travel by source (its body names
 * Node's internals), and where it was defined (`node:internal/…`) is not where a program imports it
 * from, so it is looked up among the exports of the built-in modules this program has loaded.
 */
import { builtinModules, createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

// Where a runtime does not list the modules it loaded: built-ins that load without a warning (unlike
// `punycode` or `sys`) or an experimental flag, whose functions a task plausibly is.
const QUIET_BUILTINS = [
  'timers/promises',
  'timers',
  'fs',
  'fs/promises',
  'path',
  'os',
  'crypto',
  'util',
  'zlib',
  'child_process',
  'dns/promises',
  'url',
  'querystring',
  'buffer',
];

const found = new WeakMap<Function, { readonly module: string; readonly name: string } | null>();

/** The built-in modules to search: those this program loaded, where the runtime says which. */
function loadedBuiltins(): readonly string[] {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (!Array.isArray(list) || list.length === 0) return QUIET_BUILTINS;
  const loaded = new Set<string>();
  for (const entry of list) if (typeof entry === 'string' && entry.startsWith('NativeModule ')) loaded.add(entry.slice(13));
  return builtinModules.filter((name) => loaded.has(name));
}

/**
 * `{ module: 'node:timers/promises', name: 'setTimeout' }` when `fn` is an export of a built-in module
 * this program loaded; undefined otherwise.
 */
export function builtinExportOf(fn: Function): { readonly module: string; readonly name: string } | undefined {
  const known = found.get(fn);
  if (known !== undefined) return known ?? undefined;
  let result: { module: string; name: string } | null = null;
  search: for (const module of loadedBuiltins()) {
    let exports: Record<string, unknown>;
    try {
      exports = requireHere(`node:${module}`) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const name of Object.keys(exports)) {
      // Data properties only: reading some accessors (deprecated constants) prints a warning.
      if (name !== 'default' && Object.getOwnPropertyDescriptor(exports, name)?.value === fn) {
        result = { module: `node:${module}`, name };
        break search;
      }
    }
  }
  found.set(fn, result);
  return result ?? undefined;
}
