/**
 * The classes of a context (`const { Value } = getContext('process')`) as functions that cross: a
 * worker function that uses one (a module constant, a task's argument) sends it by name, and the
 * receiver takes the same member of its own context. A context's class is a proxy over the library's
 * class, so it has no source to send, and it is not an export of any module.
 *
 * `context.ts` fills both sides as it makes a context and as it loads, and the wire names its module,
 * which a receiver that has not loaded it imports first (as a shared kind's module is): transport knows
 * nothing of contexts but this name.
 *
 * @example
 * ```ts
 * nameContextMember(bound, 'process', 'Value', import.meta.url);   // context.ts, for each bound class
 * contextMemberWire(bound);   // { by: 'context', method: 'process', name: 'Value', module: import.meta.url }
 * ```
 */
import type { WireFunction } from './wire-function.js';
import { importModule } from '../runtime/import-module.js';

type ContextWire = Extract<WireFunction, { by: 'context' }>;

const named = new WeakMap<Function, ContextWire>();
let resolve: ((method: string, name: string) => Function | undefined) | undefined;

/** Records that `fn` is the member `name` of the context of `method`, made by the module `module`. */
export function nameContextMember(fn: Function, method: string, name: string, module: string): void {
  named.set(fn, { by: 'context', method, name, module });
}

/** How `fn` crosses, if it is a context's member. */
export function contextMemberWire(fn: Function): ContextWire | undefined {
  return named.get(fn);
}

/** Installs how a receiver finds a context's member (`context.ts`, as the library loads). */
export function setContextMemberResolver(resolver: (method: string, name: string) => Function | undefined): void {
  resolve = resolver;
}

/** The member a `{ by: 'context' }` wire names, if this thread has loaded the contexts' module. */
export function contextMemberNow(wire: ContextWire): Function | undefined {
  return resolve?.(wire.method, wire.name);
}

/** The member a `{ by: 'context' }` wire names, in this thread (importing the contexts' module first). */
export async function contextMember(wire: ContextWire): Promise<Function> {
  if (resolve === undefined) await importModule(wire.module);
  const found = contextMemberNow(wire);
  if (found === undefined) throw new TypeError(`no context member ${wire.method}.${wire.name} in this thread (${wire.module})`);
  return found;
}
