/**
 * Worker side of running under tsx: tsx's module hooks are registered in a worker only before it
 * imports a module that may need them, not when it starts (see spawn.ts). Registering costs a worker a
 * hooks thread and tsx's compiler, which made a pool's first result 5–8× slower under tsx than under
 * plain node; a worker that runs only functions shipped by source, or only built `.js` files of this
 * library, never pays it.
 */

// Set by the worker's entry (spawn.ts) when the parent runs under tsx: registers tsx's hooks, once.
const REGISTER = Symbol.for('multiprocessing.registerTsx');

/**
 * Call before `import(url)` in a worker: resolves once tsx's hooks are in place if the module may need
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
