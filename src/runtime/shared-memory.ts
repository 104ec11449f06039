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
  return allocators[options?.startMethod ?? memoryStartMethod()](byteLength, options?.maxByteLength);
}
