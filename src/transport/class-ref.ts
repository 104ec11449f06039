/**
 * Receiving side of class references: the class a `WireFunction` names, from the classes this thread
 * knows (located here as a sender, or loaded before), else loaded. How a class instance crosses, and
 * how the sender names its class, is `class-locate.ts`.
 */
import { resolveWireFunctionSync } from './function-resolve.js';
import { wireKey, type WireFunction } from './wire-function.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Classes this thread knows by their wire key: located here, compiled here, or imported here.
const known = new Map<string, Function>();

/** Remembers that `wire` names `ctor` in this thread (a sender knows the classes it names). */
export function knowClass(wire: WireFunction, ctor: Function): void {
  known.set(wireKey(wire), ctor);
}

// Where Node can `require()` an ES module (20.19+), a module that `import` already loaded is returned
// from the same cache, so a blocking `get()` can have a class exported by a JavaScript module at once.
// Not for TypeScript, nor when a CommonJS transformer (tsx) is installed: that would load a second
// copy of the module, whose class is not the one the program's imports see.
function requireNow(wire: Extract<WireFunction, { by: 'module' }>): Function | undefined {
  if ((process.features as { require_module?: boolean }).require_module !== true) return undefined;
  if (!wire.module.startsWith('file:') || !/\.m?js$/.test(wire.module)) return undefined;
  try {
    const load = createRequire(import.meta.url);
    if (load.extensions['.ts'] !== undefined) return undefined;
    const namespace = load(fileURLToPath(wire.module)) as Record<string, unknown>;
    const found = namespace[wire.name];
    if (typeof found !== 'function') return undefined;
    return wire.source === null || Function.prototype.toString.call(found) === wire.source ? found : undefined;
  } catch {
    return undefined; // top-level await, say: the async path loads it
  }
}

/** The class `wire` names, if this thread can have it without waiting (else `resolveClass`). */
export function classNow(wire: WireFunction): Function | undefined {
  const key = wireKey(wire);
  let found = known.get(key);
  if (found === undefined) {
    found = wire.by === 'module' ? requireNow(wire) : resolveWireFunctionSync(wire);
    if (found !== undefined) known.set(key, found);
  }
  return found;
}

/** The class `wire` names, importing its module if needed (with `resolve`: `resolveWireFunction`). */
export async function resolveClass(wire: WireFunction, resolve: (wire: WireFunction) => Promise<Function>): Promise<Function> {
  const now = classNow(wire);
  if (now !== undefined) return now;
  const found = await resolve(wire);
  known.set(wireKey(wire), found);
  return found;
}
