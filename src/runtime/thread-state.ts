/**
 * State kept once per thread, whichever copy of the library asks for it. One thread may load the
 * library twice (its ESM and CommonJS builds, or the sources under tsx next to the build), and both
 * copies must agree on who this process is, which owner token its locks hold, which shared kinds it
 * can revive: so the state lives on `globalThis` under a registered symbol, not in a module variable.
 */

/** This thread's state of one kind: call it to get it (made on first use). */
export interface PerThread<T> {
  (): T;
  /** The state if it was made already, without making it. */
  peek(): T | undefined;
  /** Replaces the state (a child adopting what its start message says). */
  set(value: T): void;
}

/**
 * This thread's `name` state, made by `create` on first use.
 *
 * @example
 * ```ts
 * const counters = perThread('counters', () => new Map<string, number>());
 * counters().set('a', 1);
 * ```
 */
export function perThread<T>(name: string, create: () => T): PerThread<T> {
  const key = Symbol.for(`multiprocessing.${name}`);
  const holder = globalThis as Record<symbol, T | undefined>;
  const get = (): T => (holder[key] ??= create());
  return Object.assign(get, {
    peek: (): T | undefined => holder[key],
    set: (value: T): void => {
      holder[key] = value;
    },
  });
}
