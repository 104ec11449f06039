/**
 * The loader of the native addon (`native/`): shared memory and `futex(2)` across OS processes, which
 * the `'process'` start method needs and JavaScript cannot do (a `SharedArrayBuffer` lives in one
 * process; V8's `Atomics.wait/notify` keep their wait lists in one process). The `'thread'` start method
 * never needs it.
 *
 * The addon is optional: a machine without a C++ compiler, or Windows, has no build of it. So loading
 * never throws: {@link loadNative} says why there is no addon, and the caller turns that into an error
 * that names the fix where a shared object is asked for.
 *
 * Two builds of one source (`npm run build:native` makes both): the V8-API build
 * (`multiprocessing_native.node`, for the Node it was built with: Node 20 and 22 can make a
 * SharedArrayBuffer over shared memory only this way) and the Node-API build (`multiprocessing_napi.node`,
 * for any Node-API runtime, but shared memory only where `node_api_create_external_sharedarraybuffer`
 * exists: Node >= 24.16 / 26.1, Bun). The loader takes the first that loads and can share memory.
 *
 * Where they are: `native/build/Release/` under the package root. This module runs
 * from `src/` (under tsx, in tests) and bundled into `dist/cjs/library.js`, so the
 * root is found by walking up from this file to the `package.json` named `multiprocessing`, not by a
 * fixed relative path. `MULTIPROCESSING_NO_NATIVE=1` hides the addon (to test the fallback).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a futex wait ended with, as `Atomics.wait` reports it. */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** A new shared memory segment: its file descriptor (to pass to other processes) and its memory. */
export interface Segment {
  /** The memfd; close it with `closeFd` once no other process needs to receive it from here. */
  readonly fd: number;
  /** The whole segment, mapped shared: every process that maps the fd sees the same bytes. */
  readonly buffer: SharedArrayBuffer;
}

/** A file descriptor received by {@link NativeAddon.recvFd}, with the tag it was sent with. */
export interface ReceivedFd {
  readonly fd: number;
  readonly tag: number;
}

/** The async-wait pool's state, for tests and diagnostics. */
export interface AsyncWaitStats {
  /** Helper threads alive in this process (busy or idle). */
  readonly helperThreads: number;
  readonly idleHelpers: number;
  /** Kernel waits in progress or queued: one per distinct (word, expected value, deadline class). */
  readonly kernelWaits: number;
  /** Pending `futexWaitAsync` calls of every thread of this process. */
  readonly waiters: number;
}

/**
 * The addon's functions (Linux). Errors carry a `code`: `ERR_MP_INVALID_ARG` for a wrong argument,
 * `ERR_MP_SYSCALL` (with `syscall` and `errno`) when the kernel refuses.
 *
 * @example
 * ```ts
 * const loaded = loadNative();
 * if (loaded.native === undefined) throw new Error(loaded.reason);
 * const { fd, buffer } = loaded.native.createSegment(4096);
 * const words = new Int32Array(buffer);
 * // give `fd` to a child: fork(script, { stdio: ['inherit', 'inherit', 'inherit', 'ipc', fd] }) → its fd 4
 * loaded.native.futexWait(words, 0, 0, 100); // 'timed-out' unless another process wakes word 0
 * ```
 */
export interface NativeAddon {
  /** A new memfd of `byteLength` bytes (close-on-exec), mapped shared. `name` shows in `/proc/<pid>/fd`. */
  createSegment(byteLength: number, name?: string): Segment;
  /**
   * Maps a segment's fd (received at fork or by `recvFd`) from `offset` (default 0; a multiple of the
   * page size): `byteLength` defaults to the rest of the segment. The buffer starts at `offset`, so one
   * segment can back many buffers that each start at index 0.
   */
  mapSegment(fd: number, byteLength?: number, offset?: number): SharedArrayBuffer;
  /** The system's page size: `mapSegment`'s offsets are multiples of it. */
  readonly pageSize: number;
  /** Closes a file descriptor. Mappings made from it stay valid. */
  closeFd(fd: number): void;
  /**
   * Has the kernel send `signal` (a number) to this process when its parent ends, even while it runs
   * synchronous code. Returns false when the parent is no longer `parentPid` (it ended already).
   */
  dieWithParent(signal: number, parentPid: number): boolean;
  /**
   * Gives the pages of `[offset, offset + length)` back to the kernel: they read as zeros again. A
   * segment reserved at its largest size costs only the pages in use.
   */
  punchHole(fd: number, offset: number, length: number): void;
  /**
   * Blocks the calling thread while `words[index] === expected`, for at most `timeout` ms (Infinity:
   * no limit). Woken by `futexWake` on the same memory from any process.
   */
  futexWait(words: Int32Array, index: number, expected: number, timeout?: number): FutexWaitResult;
  /** Wakes up to `count` (default all) waiters on `words[index]` in every process; returns how many woke. */
  futexWake(words: Int32Array, index: number, count?: number): number;
  /**
   * `futexWait` without blocking: settles `'not-equal'` at once (no thread) when the word differs.
   * Waiters on the same word and value share one kernel wait, and a wake settles all of them (more
   * wakeups than asked, never fewer). With `keepAlive` (the default) the pending wait keeps the program
   * alive, as a timer does; `false` gives `Atomics.waitAsync`'s behaviour.
   */
  futexWaitAsync(words: Int32Array, index: number, expected: number, timeout?: number, keepAlive?: boolean): Promise<FutexWaitResult>;
  /**
   * Gives up a pending `futexWaitAsync` of this thread (an abort): the wait leaves its kernel wait, no
   * longer keeps the program alive, and its promise never settles. False if it had settled already.
   */
  futexWaitCancel(pending: Promise<FutexWaitResult>): boolean;
  /** Two connected Unix sockets (SOCK_SEQPACKET, close-on-exec) for `sendFd`/`recvFd`. */
  socketPair(): [number, number];
  /** Sends a copy of `fd`, with a number, over a socket from `socketPair` (SCM_RIGHTS). */
  sendFd(socketFd: number, fd: number, tag: number): void;
  /** The next fd sent over the socket, or `undefined` if none is waiting. Never blocks. */
  recvFd(socketFd: number): ReceivedFd | undefined;
  /** The async-wait pool's state. */
  asyncWaitStats(): AsyncWaitStats;
}

/** Which build of the addon was loaded: the V8-API one or the Node-API one. */
export type NativeTarget = 'v8' | 'node-api';

/** The addon and which build it is, or why there is none. */
export type NativeLoad =
  | { readonly native: NativeAddon; readonly target: NativeTarget; readonly reason?: undefined }
  | { readonly native: undefined; readonly target?: undefined; readonly reason: string };

/** Where the build puts the V8-API addon, relative to the package root. */
export const NATIVE_BUILD_PATH = join('native', 'build', 'Release', 'multiprocessing_native.node');
/** Where the build puts the Node-API addon, relative to the package root. */
export const NAPI_BUILD_PATH = join('native', 'build', 'Release', 'multiprocessing_napi.node');

const PACKAGE_NAME = 'multiprocessing';

/** Every function of {@link NativeAddon}: a build that lacks one is older than this loader. */
const NATIVE_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'createSegment',
  'mapSegment',
  'closeFd',
  'dieWithParent',
  'punchHole',
  'futexWait',
  'futexWake',
  'futexWaitAsync',
  'futexWaitCancel',
  'socketPair',
  'sendFd',
  'recvFd',
  'asyncWaitStats',
];

/** The directory of the `package.json` named `multiprocessing` at or above `from`, if any. */
export function findPackageRoot(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // A package.json we cannot read is not ours: keep looking.
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

let loaded: NativeLoad | undefined;

/**
 * The native addon of this process (loaded once), or `{ native: undefined, reason }`. Never throws.
 *
 * @example
 * ```ts
 * const { native, reason } = loadNative();
 * if (native === undefined) console.warn(`no shared memory across processes: ${reason}`);
 * ```
 */
export function loadNative(): NativeLoad {
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): NativeLoad {
  if (process.env.MULTIPROCESSING_NO_NATIVE === '1') {
    return { native: undefined, reason: 'the native addon is disabled (MULTIPROCESSING_NO_NATIVE=1)' };
  }
  if (process.platform !== 'linux') {
    return { native: undefined, reason: `the native addon needs Linux (memfd_create, futex); this is ${process.platform}` };
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  if (root === undefined) return { native: undefined, reason: `no package.json named "${PACKAGE_NAME}" at or above ${here}` };
  const reasons: string[] = [];
  for (const [target, path] of [['v8', NATIVE_BUILD_PATH], ['node-api', NAPI_BUILD_PATH]] as const) {
    const attempt = tryFile(join(root, path));
    if (attempt.native !== undefined) return { native: attempt.native, target };
    reasons.push(attempt.reason);
  }
  return {
    native: undefined,
    reason: `no usable build of the native addon (${reasons.join('; ')}): run \`npm run build:native\` in ${root} (needs a C++ compiler, make and python3)`,
  };
}

/** One build of the addon, if it exists, loads, has every function and can make shared memory. */
function tryFile(file: string): { native: NativeAddon; reason?: undefined } | { native: undefined; reason: string } {
  if (!existsSync(file)) return { native: undefined, reason: `${file} is missing` };
  try {
    const native = createRequire(import.meta.url)(file) as Record<string, unknown>;
    const missing = NATIVE_FUNCTIONS.filter((name) => typeof native[name] !== 'function');
    if (missing.length > 0) return { native: undefined, reason: `${file} is out of date (it lacks ${missing.join(', ')})` };
    if (typeof native.pageSize !== 'number') return { native: undefined, reason: `${file} is out of date (it lacks pageSize)` };
    if (native.sharedArrayBuffers === false) {
      return { native: undefined, reason: `${file} loads, but this runtime's Node-API cannot make a SharedArrayBuffer over shared memory (Node >= 24.16 or 26.1, or Bun, can)` };
    }
    return { native: native as unknown as NativeAddon };
  } catch (error) {
    return { native: undefined, reason: `${file} failed to load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
}
