/**
 * Start methods and contexts. A context carries the whole API bound to one start method, as Python's
 * `get_context()` does: `getContext('thread').Pool`.
 *
 * Only `'thread'` (worker_threads) exists today. A `'process'` start method (child_process, for crash
 * and memory isolation) would register here and in `runtime/spawn.ts`; nothing else changes.
 */
import type * as Api from './index.js';
import { misuse } from './errors.js';

/** How children are started: `'thread'` runs each in a worker thread with its own V8 isolate. */
export type StartMethod = 'thread';

/** The whole public API, bound to one start method. */
export type Context = typeof Api & { readonly startMethod: StartMethod };

const available: readonly StartMethod[] = ['thread'];
let chosen: StartMethod | undefined;
let api: typeof Api | undefined;
const contexts = new Map<StartMethod, Context>();

/** Called once by the package's entry module with its own namespace. */
export function provideApi(namespace: typeof Api): void {
  api = namespace;
}

function checkMethod(method: string): StartMethod {
  if (!(available as readonly string[]).includes(method)) {
    throw misuse(
      Error,
      'ERR_MP_START_METHOD',
      `cannot find context for '${method}': the available start methods are ${available.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  return method as StartMethod;
}

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
  const resolved = method === undefined ? getStartMethod() : checkMethod(method);
  let context = contexts.get(resolved);
  if (context === undefined) {
    if (api === undefined) throw misuse(Error, 'ERR_MP_INTERNAL', 'the multiprocessing API is not loaded yet');
    context = Object.freeze({ ...api, startMethod: resolved }) as Context;
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
  if (chosen === undefined) {
    if (allowNone) return null;
    chosen = available[0]!;
  }
  return chosen;
}

/**
 * Sets the default start method, once; `force` allows changing it again.
 *
 * @example `setStartMethod('thread')`
 */
export function setStartMethod(method: StartMethod | null, force = false): void {
  if (chosen !== undefined && !force) {
    throw misuse(Error, 'ERR_MP_CONTEXT_SET', 'context has already been set');
  }
  chosen = method === null ? undefined : checkMethod(method);
}

/** Every start method this platform supports, the default first. @example `getAllStartMethods() // ['thread']` */
export function getAllStartMethods(): StartMethod[] {
  return [...available];
}
