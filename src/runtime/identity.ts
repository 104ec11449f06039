/**
 * Who this thread is: `currentProcess()`, `parentProcess()`, and the names of the children it starts.
 *
 * Kept on `globalThis` under a registered symbol so that every copy of the library loaded in one
 * thread (the ESM and CommonJS builds, or the sources under tsx) agrees on it.
 */
import { perThread } from './thread-state.js';
import { isMainThread, threadId } from 'node:worker_threads';
import { misuse } from '../errors.js';
import { adoptSeat, type LivenessSeat } from './liveness.js';

/** What `currentProcess()` and `parentProcess()` describe. */
export interface ProcessInfo {
  /** `'MainProcess'` for the program itself, `Process-N` (or the given name) for children. */
  readonly name: string;
  /** The OS process id (in the `'thread'` start method, every process shares the program's). */
  readonly pid: number;
  /** Unique per started process: its thread id (the program's own pid for the main thread). */
  readonly ident: number;
  /** Whether the process is a daemon. */
  readonly daemon: boolean;
}

/** What a child is told about itself in its start message. */
export interface ChildIdentity {
  readonly self: ProcessInfo;
  /** Python's `_identity`: the path of child counters from the main process, e.g. `[1, 2]`. */
  readonly path: readonly number[];
  readonly parent: ProcessInfo;
  /** Its place in the table of live processes (`liveness.ts`), filled in by `spawn.ts`. */
  readonly seat?: LivenessSeat;
}

interface ThreadState {
  self: ProcessInfo;
  path: readonly number[];
  parent: ProcessInfo | null;
  childCounter: number;
  bootstrapping: boolean;
  /** Modules being imported for functions sent here, innermost last. */
  importing: string[];
}

const state = perThread<ThreadState>('identity', () => ({
    self: { name: 'MainProcess', pid: process.pid, ident: isMainThread ? process.pid : threadId, daemon: false },
    path: [],
    parent: null,
    childCounter: 0,
    bootstrapping: false,
    importing: [],
  }));

/** Describes the current process. @example `currentProcess().name // 'MainProcess'` */
export function currentProcess(): ProcessInfo {
  return state().self;
}

/**
 * Whether this thread ends before the program does: a child this library started, or any other
 * worker thread. Resources it holds must then be let go when it exits.
 */
export function isChild(): boolean {
  return state().parent !== null || !isMainThread;
}

/** Describes the process that started this one, or `null` in the main process. */
export function parentProcess(): ProcessInfo | null {
  return state().parent;
}

/** Called by the child's bootstrap before anything else runs. */
export function adoptIdentity(identity: ChildIdentity): void {
  const current = state();
  // A process child's pid and ident are its own (its parent does not know them yet when it sends this).
  current.self = { ...identity.self, pid: process.pid, ident: isMainThread ? process.pid : threadId };
  current.path = identity.path;
  current.parent = identity.parent;
  adoptSeat(identity.seat);
}

/** The identity path and default name for the next child started from this thread. */
export function nextChild(prefix = 'Process'): { path: number[]; defaultName: string } {
  const current = state();
  current.childCounter += 1;
  const path = [...current.path, current.childCounter];
  return { path, defaultName: `${prefix}-${path.join(':')}` };
}

/** True while a child imports the module of its target, before the target runs. */
export function isBootstrapping(): boolean {
  const current = state();
  return current.bootstrapping || current.importing.length > 0;
}

/**
 * Runs `load`, which imports `module` for a function sent to this thread: starting processes meanwhile
 * (the module does it at its top level) is refused with an error that names the module.
 */
export async function whileImporting<T>(module: string, load: () => Promise<T>): Promise<T> {
  const importing = state().importing;
  importing.push(module);
  try {
    return await load();
  } finally {
    importing.splice(importing.lastIndexOf(module), 1);
  }
}

export function setBootstrapping(value: boolean): void {
  state().bootstrapping = value;
}

/** `whileImporting` for a synchronous load (`require`). */
export function whileImportingSync<T>(module: string, load: () => T): T {
  const importing = state().importing;
  importing.push(module);
  try {
    return load();
  } finally {
    importing.splice(importing.lastIndexOf(module), 1);
  }
}

/**
 * Throws when starting children now would recurse without end: while a child is still importing its
 * target's module (that module starts processes at import time, so every child would start more).
 */
export function assertMayStartChildren(): void {
  const current = state();
  const module = current.importing.at(-1);
  if (current.bootstrapping || module !== undefined) {
    const which = module === undefined ? 'A module that a worker imports (the module of its target)' : `The module ${module}, which this worker imports for a function it was sent,`;
    throw misuse(
      Error,
      'ERR_MP_BOOTSTRAPPING',
      'An attempt has been made to start a new process before the current process has finished its ' +
        `bootstrapping phase. ${which} starts processes or pools when it is imported, so every worker ` +
        'would start more of them. Fix: start processes from a function that your entry script calls ' +
        "(say, main()), not at the top level of a worker's module; or move what the worker needs out of " +
        'that module into one that starts nothing.',
    );
  }
  if (current.self.daemon) {
    throw misuse(
      Error,
      'ERR_MP_DAEMON_CHILDREN',
      'daemonic processes are not allowed to have children (pool workers and daemon processes are daemonic: ' +
        'start the process from a non-daemon process, such as the main program)',
    );
  }
}
