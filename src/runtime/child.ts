/**
 * The start-method seam: what every start method provides, on both sides of the boundary.
 *
 * The parent holds a `ChildHandle` per child; the child talks to its parent through a `ChildPort`. The
 * `'thread'` start method implements both over `worker_threads` (`runtime/thread/`); the `'process'`
 * one over `child_process.fork` and its IPC channel (`runtime/process/`). Nothing outside `runtime/`
 * knows which is which: `Process` and the pool start a child by naming the function it runs (a
 * `RoleEntry`) and talk to it through these.
 */
import type { ChildIdentity } from './identity.js';
import type { PackedParts } from '../transport/payload.js';
import { perThread } from './thread-state.js';

/**
 * The child-side function of a role: the module that defines it (its URL) and the name it registered
 * under. The child imports the module, which registers the function as it loads, and calls it. The
 * entry thus knows no feature: `Process` and the pool bring their own.
 *
 * Roles are found by registration, not by export, because the built package is one bundled file per
 * flavour: a module's `import.meta.url` is then the bundle's, and only the public API is exported.
 */
export interface RoleEntry {
  readonly module: string;
  readonly name: string;
}

/** The function a `RoleEntry` names. It runs the child's role, and the child ends as that role decides. */
export type RoleRunner<Payload> = (payload: Payload, port: ChildPort) => Promise<void>;

/** The start message: everything a child needs to begin. */
export interface StartMessage<Payload = unknown> {
  readonly role: RoleEntry;
  readonly identity: ChildIdentity;
  readonly payload: Payload;
  /** The child is another OS process than the program, or a thread of one (`memoryStartMethod`). */
  readonly inProcessChild?: boolean;
}

/** A buffer or port that a message moves into the child instead of copying (a process child takes buffers only). */
export type Movable = ArrayBuffer | import('node:worker_threads').MessagePort;

/**
 * Parent side: one started child. Event names and signatures are those of a `Worker`, so a listener
 * does not care which start method made the child.
 */
export interface ChildHandle {
  /** Unique among the children of this program while it runs: a thread id, or an OS pid. */
  readonly ident: number;
  /** The child's OS process id (the program's own for a thread). */
  readonly pid: number;
  postMessage(message: unknown, transfer?: readonly Movable[]): void;
  on(event: 'message', listener: (message: never) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  /**
   * `code` is the exit code (`process.exit(n)`, 1 after an uncaught error, 1 after a thread's `terminate()`);
   * for a process ended by a signal, minus its number, as in Python (-15 after `terminate()`, -9 after `kill()`).
   */
  on(event: 'exit', listener: (code: number) => void): this;
  /** Lets the program exit while the child runs (`ref()` undoes it). */
  unref(): void;
  ref(): void;
  /** Ends the child now (a thread is stopped; a process is sent SIGTERM). Resolves once it has exited. */
  terminate(): Promise<void>;
  /** Ends the child now without letting it run any code (a thread is stopped; a process gets SIGKILL). */
  kill(): Promise<void>;
}

/** Child side: the way to the parent. */
export interface ChildPort {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  /** Messages that arrive before a listener is attached wait for it. */
  onMessage(listener: (message: never) => void): void;
}

/**
 * How a child's runtime is set up (a pool's settings for each of its workers). Each start method maps
 * them to its own: a thread takes the `Worker` options of the same names, a process `fork`'s (its memory
 * limits as V8 flags: `process/starter.ts`).
 */
export interface ChildSettings {
  /** Memory limits of the child (threads: `worker_threads` resource limits; processes: V8 flags). */
  readonly resourceLimits?: ResourceLimits | undefined;
  /** The child's `process.env`. `undefined`: a copy of this process's as it is when the child starts. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** Appended to the child's `process.argv`. */
  readonly argv?: readonly string[] | undefined;
  /** Node's command-line options for the child (its `process.execArgv`). `undefined`: this process's. */
  readonly execArgv?: readonly string[] | undefined;
}

/** What a start method does to start a child, besides the start message. */
export interface SpawnOptions extends ChildSettings {
  /** Shown in debuggers and heap snapshots. */
  readonly name: string;
  /** What to call the payload in an error when it cannot be cloned (`'args'`). */
  readonly payloadLabel: string;
  /** The value to search for the uncloneable part, as the user passed it. */
  readonly payloadForErrors: unknown;
  /**
   * The payload's parts as `pack` and `toWireFunction` made them, by name (`{ target, args }`), to find
   * memory a process child cannot map: in a shared object, or among a function's constants.
   */
  readonly packedParts?: PackedParts | undefined;
}

/** Memory limits of a child, in MiB (the fields of Node's `worker_threads` `ResourceLimits`). */
export interface ResourceLimits {
  maxYoungGenerationSizeMb?: number;
  maxOldGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

// Every copy of the library loaded in a thread registers into the same table.
const roles = perThread('roles', () => new Map<string, RoleRunner<never>>());

/**
 * Registers the child side of a role and returns how a start message names it. Call it at the top
 * level of the module that defines `run`, with that module's `import.meta.url`.
 *
 * @example `export const poolWorkerRole = defineRole('pool-worker', runPoolWorker, import.meta.url);`
 */
export function defineRole<Payload>(name: string, run: RoleRunner<Payload>, moduleUrl: string): RoleEntry {
  roles().set(name, run as RoleRunner<never>);
  return { module: moduleUrl, name };
}

/** The function registered for `entry`, once its module has been imported; undefined before. */
export function registeredRole(entry: RoleEntry): RoleRunner<unknown> | undefined {
  return roles().get(entry.name) as RoleRunner<unknown> | undefined;
}
