/**
 * Start methods and contexts, as Python's `get_context()`: a context carries the whole API with its
 * classes bound to one start method (`getContext('thread').Pool`), and `setStartMethod` chooses the one
 * the plain exports use. What a start method is, and how binding works, is `runtime/start-methods.ts`;
 * this module is the public face of it.
 *
 * The context is built from the package's namespace (`api.ts`), which the entry module hands over
 * once (`provideApi`): this module cannot import it, since the namespace exports this module's
 * functions.
 */
import type * as Api from './api.js';
import { misuse } from './errors.js';
import { nameContextMember, setContextMemberResolver } from './transport/context-members.js';
import {
  START_METHODS,
  checkStartMethod,
  chooseStartMethod,
  chosenStartMethod,
  defaultStartMethod,
  withStartMethod,
  type StartMethod,
} from './runtime/start-methods.js';

export type { StartMethod } from './runtime/start-methods.js';

/** The whole public API, bound to one start method. */
export type Context = typeof Api & { readonly startMethod: StartMethod };

// The exports whose objects start children or own shared memory: a context binds them to its method.
const BOUND = [
  'Process',
  'Pool',
  'Value',
  'RawValue',
  'SharedArray',
  'Array',
  'RawArray',
  'Lock',
  'RLock',
  'Semaphore',
  'BoundedSemaphore',
  'Condition',
  'Event',
  'Barrier',
  'Queue',
  'JoinableQueue',
  'SimpleQueue',
  'Pipe',
] as const satisfies readonly (keyof typeof Api)[];

let api: typeof Api | undefined;
/** The entry module that provided `api`: what a worker imports to have the contexts (`nameContextMember`). */
let apiModule = '';
const contexts = new Map<StartMethod, Context>();

/** Called once by the package's entry module with its own namespace. */
export function provideApi(namespace: typeof Api, entryModule: string): void {
  api = namespace;
  apiModule = entryModule;
}

type Callable = (...args: unknown[]) => unknown;

/**
 * `original` bound to `method`: called or constructed, it runs `original` with `method` as the current
 * start method. Statics, `instanceof` and the name stay those of the original.
 */
function bind(original: Callable, method: StartMethod): Callable {
  const bound: Callable = new Proxy(original, {
    apply: (target, self, args): unknown => withStartMethod(method, () => Reflect.apply(target, self, args)),
    // `new.target` stays the caller's (a subclass of the bound class), else the original.
    construct: (target, args, newTarget): object =>
      withStartMethod(method, (): object => Reflect.construct(target, args, newTarget === bound ? target : newTarget) as object),
  });
  return bound;
}

function makeContext(method: StartMethod): Context {
  if (api === undefined) throw misuse(Error, 'ERR_MP_INTERNAL', 'the multiprocessing API is not loaded yet');
  const members: Record<string, unknown> = { ...api, startMethod: method };
  // One binding per class, so that aliases stay one (`ctx.Array === ctx.SharedArray`).
  const bindings = new Map<Callable, Callable>();
  for (const name of BOUND) {
    const original = api[name] as unknown as Callable;
    let bound = bindings.get(original);
    if (bound === undefined) {
      bindings.set(original, (bound = bind(original, method)));
      nameContextMember(bound, method, name, apiModule);
    }
    members[name] = bound;
  }
  return Object.freeze(members) as unknown as Context;
}

// A context's class that crosses into a worker (a constant its function uses) is the same member of
// the worker's own context (`transport/context-members.ts`).
setContextMemberResolver((method, name) => {
  if (!(START_METHODS as readonly string[]).includes(method) || !(BOUND as readonly string[]).includes(name)) return undefined;
  return getContext(method)[name as (typeof BOUND)[number]] as unknown as Function;
});

/**
 * The API bound to a start method (the default one if omitted).
 *
 * @example
 * ```ts
 * const ctx = getContext('thread');
 * const pool = new ctx.Pool(2);
 * ```
 */
export function getContext(method?: string): Context {
  const resolved = method === undefined ? defaultStartMethod() : checkStartMethod(method);
  let context = contexts.get(resolved);
  if (context === undefined) {
    context = makeContext(resolved);
    contexts.set(resolved, context);
  }
  return context;
}

/**
 * The default start method. With `allowNone`, returns `null` when none was set yet instead of fixing it.
 *
 * @example `getStartMethod() // 'thread'`
 */
export function getStartMethod(allowNone?: false): StartMethod;
export function getStartMethod(allowNone: true): StartMethod | null;
export function getStartMethod(allowNone = false): StartMethod | null {
  return allowNone ? chosenStartMethod() : defaultStartMethod();
}

/**
 * Sets the default start method, once; `force` allows changing it again.
 *
 * @example `setStartMethod('thread')`
 */
export function setStartMethod(method: StartMethod | null, force = false): void {
  if (chosenStartMethod() !== null && !force) {
    throw misuse(Error, 'ERR_MP_CONTEXT_SET', 'context has already been set');
  }
  chooseStartMethod(method);
}

/** Every start method this platform supports, the default first. @example `getAllStartMethods() // ['thread']` */
export function getAllStartMethods(): StartMethod[] {
  return [...START_METHODS];
}
