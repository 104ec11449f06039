/**
 * Running under tsx: a child whose Node options lack the parent's `--import tsx` (every worker thread on
 * Node 20, which does not apply a parent's module hooks in workers; a process child given its own
 * `execArgv`) registers tsx's hooks itself, through tsx's API, whose URL its entry is given.
 *
 * Child side: tsx's module hooks are registered in a child only before it imports a module that may
 * need them, not when it starts (see the entries, thread/starter.ts and process/child-entry.cjs).
 * Registering costs a child a hooks thread and tsx's compiler, which made a pool's first result 5–8×
 * slower under tsx than under plain node; a child that runs only functions shipped by source, or only
 * built `.js` files of this library, never pays it.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Whether a Node option loads tsx (`--import tsx`, `--import=tsx/esm`, a path to it…). */
export function isTsxOption(option: string): boolean {
  return /(^|[\\/@])tsx([\\/]|$)/.test(option);
}

/**
 * Parent side: the URL of tsx's ESM API (its CommonJS one cannot register hooks from a worker), when
 * this program runs under tsx; else `null`.
 */
export function tsxApiUrl(): string | null {
  if (!process.execArgv.some(isTsxOption)) return null;
  for (const base of [pathToFileURL(`${process.cwd()}/`).href, import.meta.url]) {
    try {
      const manifestPath = createRequire(base).resolve('tsx/package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as TsxManifest;
      const target = manifest.exports?.['./esm/api']?.import;
      const file = typeof target === 'string' ? target : target?.default;
      if (file !== undefined) return pathToFileURL(join(dirname(manifestPath), file)).href;
    } catch {
      // not resolvable from here: try the next base
    }
  }
  return null;
}

interface TsxManifest {
  exports?: Record<string, { import?: string | { default?: string } } | undefined>;
}

// Set by the child's entry when the parent runs under tsx: registers tsx's hooks, once.
const REGISTER = Symbol.for('multiprocessing.registerTsx');

/**
 * Call before `import(url)` in a child: resolves once tsx's hooks are in place if the module may need
 * them (at once, and without registering, when the parent does not run under tsx).
 */
export function beforeImport(url: string): Promise<void> | undefined {
  const register = (globalThis as Record<symbol, unknown>)[REGISTER] as (() => Promise<void>) | undefined;
  return register !== undefined && mayNeedTsx(url) ? register() : undefined;
}

/**
 * Whether importing `url` may need tsx: any module of the user's (a `.js` path may be a `.ts` file under
 * tsx, and a `.js` module may import TypeScript), but not a built-in, nor a function shipped by source
 * that imports nothing.
 */
function mayNeedTsx(url: string): boolean {
  if (url.startsWith('node:')) return false;
  if (url.startsWith('data:')) return /\bimport\b/.test(decodeURIComponent(url.slice(url.indexOf(',') + 1)));
  return true;
}
