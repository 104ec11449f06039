/**
 * What a function looks like on the wire: an explicit `{ module, name }` reference, or the form
 * `function-ref.ts` gives it in the sender (by source, with what it uses of its module, or by module
 * and export name), which `function-resolve.ts` turns back into a function in the receiver.
 */
import type { WireScope } from './module-scope.js';
import type { Packed } from './payload.js';
import type { Placement } from './stack-frames.js';

/** An explicit reference to a function exported by a module: the worker imports `module` and takes `name`. */
export interface FunctionReference {
  /** A file URL, an absolute or `./relative` path (from the current directory), or a package name. */
  readonly module: string | URL;
  /** The export's name (`'default'` for a default export). */
  readonly name: string;
}

/** A function as it travels in a message. */
export type WireFunction =
  | {
      readonly by: 'source';
      readonly expression: string;
      readonly name: string;
      /** What it uses of its module, when it uses anything; then `key` tells it from same-text functions. */
      readonly scope?: WireScope;
      readonly values?: Packed;
      readonly key?: string;
      /** Names it in the parent, which maps its stack frames to the user's file when an error comes back. */
      readonly origin?: number;
      /** Where it sits in the user's file, for a child that prints its own errors (a `Process` target). */
      readonly placement?: Placement;
    }
  | { readonly by: 'module'; readonly module: string; readonly name: string; readonly source: string | null }
  /**
   * A class of a context (`getContext('process').Value`): the receiver takes the same member of its own
   * context (`context-members.ts`). Such a class is a proxy, whose source no one can read.
   */
  | { readonly by: 'context'; readonly method: string; readonly name: string; readonly module: string }
  /**
   * A function the runtime provides as a global (`Math.sqrt`, `parseInt`, `JSON.parse`): native, so no
   * one can read its source; the receiver takes the one at the same `path` of its own globals.
   */
  | { readonly by: 'global'; readonly path: string };

/** A string that is equal for two wire functions exactly when they are the same function. */
export function wireKey(wire: WireFunction): string {
  if (wire.by === 'context') return `c${wire.method}#${wire.name}`;
  if (wire.by === 'global') return `g${wire.path}`;
  return wire.by === 'source' ? `s${wire.key ?? wire.expression}` : `m${wire.module}#${wire.name}`;
}
