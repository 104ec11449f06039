/**
 * The reduce/revive registry: how live shared objects (`Value`, `Array`, locks, queues, connections)
 * cross between threads: in arguments, results, queue items and pipe messages (`payload.ts` walks a
 * value for them).
 *
 * A shareable class implements `[reduce]()`, returning its `kind` and a structured-clonable `state`
 * (usually a few `SharedArrayBuffer`s and numbers), and registers a reviver for that kind. On the other
 * side the reviver builds an object of the same class over the same shared memory, through the public
 * constructor: it puts the state in the class's `ReviveSlot`, from which the constructor takes it, so
 * constructors keep Python's signatures.
 *
 * @example
 * ```ts
 * const reviving = new ReviveSlot<Int32Array>();
 * class Counter implements Shareable {
 *   readonly words = reviving.take() ?? new Int32Array(allocateShared(4));
 *   [reduce]() { return { kind: 'Counter', state: this.words }; }
 * }
 * registerShareable('Counter', (words) => reviving.fill(words as Int32Array, () => new Counter()), import.meta.url);
 * ```
 */
import { perThread } from '../runtime/thread-state.js';
import { misuse } from '../errors.js';

/** The method a shareable object implements to describe itself for another thread. */
export const reduce: unique symbol = Symbol.for('multiprocessing.reduce') as never;

/** What a shareable object reduces to: a registered kind and a structured-clonable state. */
export interface Reduced {
  readonly kind: string;
  readonly state: unknown;
}

/** An object that crosses into workers live instead of as a copy. */
export interface Shareable {
  [reduce](): Reduced;
}

/**
 * Rebuilds an object from its reduced state. `later` takes work the object needs finished before the
 * code that receives it runs (a barrier's action loading): an async unpack (task and `Process`
 * arguments, an async queue `get`) waits for it; a synchronous one cannot.
 */
type Reviver = (state: unknown, later: (work: Promise<void>) => void) => unknown;

/** Options of `registerShareable`. */
export interface ShareableOptions {
  /**
   * True for a kind whose objects carry other shared objects that are revived synchronously when read
   * (a queue, a pipe): a worker that receives one first loads every kind of this library that its
   * sender knows, since its items may hold any of them.
   */
  readonly carrier?: boolean;
}

/** A kind and the module that registers it. */
export type KindModule = readonly [kind: string, moduleUrl: string];

// Two copies of this module in one thread (the ESM and the CommonJS build, say) share one registry.
const revivers = perThread('shareableRevivers', () => new Map<string, Reviver>())();
const modules = perThread('shareableModules', () => new Map<string, string>())();
const carriers = perThread('shareableCarriers', () => new Set<string>())();
// Where this library's own modules live, one root per copy of it in this thread.
const libraryRoots = perThread('shareableLibraryRoots', () => new Set<string>())();
libraryRoots.add(new URL('../', import.meta.url).href);

/**
 * Registers how to rebuild objects of `kind` from their reduced state. Later registrations win.
 * `moduleUrl` (pass `import.meta.url`) is the module that registers the kind: a worker that receives
 * such an object imports just that module before reviving it.
 *
 * @example
 * ```ts
 * registerShareable('Counter', (words) => new Counter(words as Int32Array), import.meta.url);
 * ```
 */
export function registerShareable(kind: string, revive: Reviver, moduleUrl: string, options: ShareableOptions = {}): void {
  if (typeof moduleUrl !== 'string') {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `registerShareable('${kind}', revive, moduleUrl) needs the module's URL: pass import.meta.url`);
  }
  revivers.set(kind, revive);
  modules.set(kind, moduleUrl);
  if (options.carrier === true) carriers.add(kind);
  else carriers.delete(kind);
}

/**
 * The kinds a receiver of a `kind` object must be able to revive, each with the module that registers
 * it: that kind alone, or for a carrier every kind of this library registered in this thread. Not the
 * program's own kinds: their module may be the entry script, which a worker must not import (it would
 * start the program again). Empty for a kind nobody registered here.
 */
export function kindsToLoad(kind: string): readonly KindModule[] {
  if (carriers.has(kind)) return [...modules].filter(([, url]) => isLibraryModule(url));
  const moduleUrl = modules.get(kind);
  return moduleUrl === undefined ? [] : [[kind, moduleUrl]];
}

function isLibraryModule(url: string): boolean {
  for (const root of libraryRoots) if (url.startsWith(root)) return true;
  return false;
}

/**
 * The revive path into a constructor: a reviver `fill`s the slot with the reduced state and calls the
 * public constructor, which `take`s it (and builds over that shared memory instead of new memory).
 * The slot is empty again once the constructor took the state, and after `make` returns or throws, so
 * a later `new` never builds over someone else's memory. A subclass constructor that must know before
 * `super()` whether it is being revived `peek`s.
 *
 * @example
 * ```ts
 * const reviving = new ReviveSlot<Int32Array>();
 * class Flag { readonly words = reviving.take() ?? new Int32Array(allocateShared(4)); }
 * registerShareable('Flag', (words) => reviving.fill(words as Int32Array, () => new Flag()), import.meta.url);
 * ```
 */
export class ReviveSlot<S> {
  #state: S | undefined;

  /** Runs `make` (which calls the constructor) with `state` in the slot. */
  fill<T>(state: S, make: () => T): T {
    this.#state = state;
    try {
      return make();
    } finally {
      this.#state = undefined;
    }
  }

  /** For a constructor: the state being revived, or `undefined` for a new object. Empties the slot. */
  take(): S | undefined {
    const state = this.#state;
    this.#state = undefined;
    return state;
  }

  /** The state being revived, without taking it. */
  peek(): S | undefined {
    return this.#state;
  }
}

/** Whether this thread can revive `kind` now. */
export function canRevive(kind: string): boolean {
  return revivers.has(kind);
}

/** True for objects that implement the reduce protocol. */
export function isShareable(value: unknown): value is Shareable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Shareable>)[reduce] === 'function';
}

/**
 * Rebuilds a live object from what its `[reduce]()` returned; `later` receives the work it still needs
 * (see `Reviver`), which nothing waits for when it is not given.
 */
export function revive(reduced: Reduced, later: (work: Promise<void>) => void = ignoreLater): unknown {
  const reviver = revivers.get(reduced.kind);
  if (reviver === undefined) {
    throw misuse(
      TypeError,
      'ERR_MP_UNKNOWN_KIND',
      `cannot revive a shared object of kind '${reduced.kind}': no class registered it in this worker. ` +
        `Import the module that defines it before using it, or register it with registerShareable().`,
    );
  }
  return reviver(reduced.state, later);
}

function ignoreLater(work: Promise<void>): void {
  work.catch(() => {}); // the object reports its own failure when used (a barrier breaks, naming it)
}
