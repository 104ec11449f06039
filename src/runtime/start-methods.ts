/**
 * Which start methods exist, which one is the default, and which one the code running now starts
 * children with.
 *
 * A context binds classes to a start method (`getContext('thread').Pool`) the way CPython passes
 * `ctx=` into every constructor: the bound constructor runs the library's constructor inside
 * `withStartMethod`, so everything created during that call (a `Value`'s lock, a `Queue`'s ring, a
 * `Pool`'s workers) asks `currentStartMethod()` and gets the bound one, while the plain exports get the
 * default one, which `setStartMethod` sets. Objects that start children later (a `Process` at `start()`,
 * a `Pool` replacing a worker) remember the method they were constructed with.
 */
import { misuse } from '../errors.js';
import { perThread } from './thread-state.js';

/**
 * How children are started: `'thread'` runs each in a worker thread with its own V8 isolate;
 * `'process'` in an OS process of its own (`child_process.fork`; Linux and macOS), whose shared
 * memory needs the native addon.
 */
export type StartMethod = 'thread' | 'process';

/**
 * Every start method this platform supports, the default first. Each one has a starter (`spawn.ts`)
 * and an allocator (`shared-memory.ts`), looked up by name, so this module depends on neither.
 */
export const START_METHODS: readonly StartMethod[] = Object.freeze(
  process.platform === 'linux' || process.platform === 'darwin' ? (['thread', 'process'] as const) : (['thread'] as const),
);

interface Choice {
  chosen: StartMethod | undefined;
  /** Set while a bound constructor runs. */
  bound: StartMethod | undefined;
  /** This thread runs in a `'process'` child, or in a thread started inside one. */
  inProcessChild: boolean;
}

// Both builds of the library loaded in one thread (ESM and CommonJS) share the choice.
const choice = perThread<Choice>('startMethod', () => ({ chosen: undefined, bound: undefined, inProcessChild: false }));

/** Throws the error Python gives for an unknown start method. */
export function checkStartMethod(method: string): StartMethod {
  if (!(START_METHODS as readonly string[]).includes(method)) {
    throw misuse(
      Error,
      'ERR_MP_START_METHOD',
      `cannot find context for '${method}': the available start methods are ${START_METHODS.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  return method as StartMethod;
}

/** The default start method; fixed to the first available one the first time it is asked for. */
export function defaultStartMethod(): StartMethod {
  const current = choice();
  return (current.chosen ??= START_METHODS[0]!);
}

/** The default if one was chosen (or fixed by being asked for), else `null`. */
export function chosenStartMethod(): StartMethod | null {
  return choice().chosen ?? null;
}

/** Sets (or with `null`, forgets) the default start method. */
export function chooseStartMethod(method: StartMethod | null): void {
  choice().chosen = method === null ? undefined : checkStartMethod(method);
}

/**
 * The start method for what is being created now: the bound one inside a bound constructor, else the
 * default. Asking does not fix the default (the library allocates its own shared memory as it loads).
 */
export function currentStartMethod(): StartMethod {
  const current = choice();
  return current.bound ?? current.chosen ?? START_METHODS[0]!;
}

/** Runs `create` with `method` as the current start method (a constructor of a context's class). */
export function withStartMethod<T>(method: StartMethod, create: () => T): T {
  const current = choice();
  const outer = current.bound;
  current.bound = method;
  try {
    return create();
  } finally {
    current.bound = outer;
  }
}

/**
 * The start method whose children must be able to map the shared memory made now: the current one,
 * except that in a `'process'` child (and in the threads it starts) an unbound class allocates memory
 * other processes can map. Whatever a child makes may go back to its parent or to a sibling (a pool
 * task's result, a queue item), and memory made for threads would stay in the child's process. The
 * child still starts its own children with its default method: only memory follows its parent.
 */
export function memoryStartMethod(): StartMethod {
  const current = choice();
  return current.bound ?? (current.inProcessChild ? 'process' : (current.chosen ?? START_METHODS[0]!));
}

/** Whether this thread runs in a `'process'` child or in a thread started inside one. */
export function inProcessChild(): boolean {
  return choice().inProcessChild;
}

/** The child's bootstrap: this thread runs in a `'process'` child, or in a thread started inside one. */
export function enterProcessChild(): void {
  choice().inProcessChild = true;
}
