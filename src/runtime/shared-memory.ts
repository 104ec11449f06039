/**
 * Where shared memory comes from: every `SharedArrayBuffer` the library makes (values, arrays, lock
 * and queue words, queue rings, the liveness table) is allocated here, and nowhere else.
 *
 * Why one place: under the `'thread'` start method any `SharedArrayBuffer` is shared, because every
 * worker lives in one OS process. The `'process'` start method needs memory that several OS
 * processes map, which only a native addon can provide (`memfd_create` segments exposed as
 * `SharedArrayBuffer`s, passed by file descriptor: `research/process-start-method.md`). With one
 * allocator, that start method changes this module, not every shared class: its allocator is the
 * segments module's (`process/segments.ts`), and throws `ERR_MP_NATIVE_UNAVAILABLE` where the addon is missing.
 *
 * The library's own words that never leave this OS process (a sleep word, the thread buffer directory,
 * the liveness table for now) are allocated with `startMethod: 'thread'`, so that they work in a
 * program whose default start method is `'process'` and costs no segment.
 *
 * How the queue ring grows across processes: a growable `SharedArrayBuffer` (`maxByteLength`) grows in
 * place and every thread sees it, but it cannot cross OS processes. So the process allocator reserves
 * the whole `maxByteLength` (1 GiB by default for a ring) up front in one sparse segment: untouched pages
 * cost no memory, so the reservation is nearly free. The ring keeps its capacity in a control word, and
 * calls `grow()` only while the buffer's `byteLength` is short of the capacity it needs, so a buffer
 * handed out at its full size is simply never grown.
 *
 * @example
 * ```ts
 * const words = new Int32Array(allocateShared(4 * 4));                 // four zeroed shared words
 * const data = allocateShared(64 * 1024, { maxByteLength: 1 << 30 });   // may grow up to 1 GiB
 * ```
 */

import { constants } from 'node:buffer';
import { misuse, type ErrorCode } from '../errors.js';
import { memoryStartMethod, type StartMethod } from './start-methods.js';
import { noNativeError } from './process/shared-buffer-codec.js';
import { loadNative } from './process/native.js';
import { allocateProcessShared } from './process/segments.js';

type Allocator = (byteLength: number, maxByteLength: number | undefined) => SharedArrayBuffer;

/**
 * Memory that other OS processes can map: memfd segments of the native addon (`process/segments.ts`),
 * reserved at `maxByteLength` when given. Without the addon, an `ERR_MP_NATIVE_UNAVAILABLE` error that names the
 * fix. The `'process'` start method's allocator.
 *
 * @example
 * ```ts
 * const words = new Int32Array(allocateAcrossProcesses(16, undefined));
 * ```
 */
export const allocateAcrossProcesses: Allocator = (byteLength, maxByteLength) => {
  const { native } = loadNative();
  if (native === undefined) {
    throw noNativeError("cannot create a shared object (a Value, Array, lock, queue or pipe) for the 'process' start method");
  }
  return allocateProcessShared(native, byteLength, maxByteLength);
};

const allocators: Readonly<Record<StartMethod, Allocator>> = {
  // Under 'thread', every worker lives in this OS process: any SharedArrayBuffer is shared.
  thread: (byteLength, maxByteLength) =>
    maxByteLength === undefined ? new SharedArrayBuffer(byteLength) : new SharedArrayBuffer(byteLength, { maxByteLength }),
  process: allocateAcrossProcesses,
};

/** Options of `allocateShared`. */
export interface SharedMemoryOptions {
  /** The size it may grow to (`SharedArrayBuffer.prototype.grow`); omitted: fixed at `byteLength`. */
  readonly maxByteLength?: number;
  /**
   * The start method whose children must map it, instead of the current one: `'thread'` for the
   * library's own words that never leave this OS process (a sleep word, the buffer directory).
   */
  readonly startMethod?: StartMethod;
  /** What the memory is for, as an error names it: `"Array('d', 8589934592)"`. */
  readonly purpose?: string;
}

/**
 * The most elements a typed array may have in this Node (2³² in Node 20, more in later ones): the
 * longest `Array`, and the largest `SharedMemory` whose `.buf` can view it.
 */
export const MAX_VIEW_LENGTH: number = constants.MAX_LENGTH;

/** `1.5 GiB`, `64 MiB`, `512 bytes`: a size as an error message says it. */
function sizeOf(bytes: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size) return `${bytes} bytes (${Number((bytes / size).toFixed(1))} ${unit})`;
  }
  return `${bytes} bytes`;
}

/**
 * The error for shared memory the system would not give (`ERR_MP_OUT_OF_MEMORY`): the size asked for,
 * what it was for, the system's reason (kept as `cause`), and the fix.
 */
export function allocationError(byteLength: number, purpose: string, cause: unknown): RangeError & { code: ErrorCode } {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return misuse(
    RangeError,
    'ERR_MP_OUT_OF_MEMORY',
    `cannot allocate ${sizeOf(byteLength)} of shared memory for ${purpose}${reason}. Ask for less, or free memory (or raise the memory limit) first`,
    { cause },
  );
}

/**
 * The error for a typed array view longer than this Node makes (`MAX_VIEW_LENGTH`), with the fix:
 * `code` as the caller's other size errors.
 */
export function viewTooLongError(purpose: string, length: number, unit: string, code: ErrorCode): RangeError & { code: ErrorCode } {
  return misuse(
    RangeError,
    code,
    `${purpose} is too large: ${length} ${unit}, and a typed array holds at most ${MAX_VIEW_LENGTH} ${unit} in this version of Node. Split it into several smaller ones`,
  );
}

/**
 * Zeroed shared memory of `byteLength` bytes, growable up to `options.maxByteLength` if given, that the
 * children of the current start method can map (see `start-methods.ts`: a context's class allocates
 * for its context). The one allocator of the library (see the module header): call it instead of
 * `new SharedArrayBuffer`.
 *
 * @example
 * ```ts
 * const flag = new Int32Array(allocateShared(4));
 * ```
 */
export function allocateShared(byteLength: number, options?: SharedMemoryOptions): SharedArrayBuffer {
  const allocate = allocators[options?.startMethod ?? memoryStartMethod()];
  try {
    return allocate(byteLength, options?.maxByteLength);
  } catch (error) {
    // The engine's bare RangeError ('Array buffer allocation failed'), or the addon's failed system call
    // (mmap, ftruncate): the library's own refusals (no addon) pass as they are.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_MP_') && code !== 'ERR_MP_SYSCALL') throw error;
    throw allocationError(options?.maxByteLength ?? byteLength, options?.purpose ?? 'a shared object', error);
  }
}
