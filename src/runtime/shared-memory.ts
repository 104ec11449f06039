/**
 * Where shared memory comes from: every `SharedArrayBuffer` the library makes (values, arrays, lock
 * and queue words, queue rings, the liveness table) is allocated here, and nowhere else.
 *
 * Why one place: under the `'thread'` start method any `SharedArrayBuffer` is shared, because every
 * worker lives in one OS process. The coming `'process'` start method needs memory that several OS
 * processes map, which only a native addon can provide (`memfd_create` segments exposed as
 * `SharedArrayBuffer`s, passed by file descriptor: `research/process-start-method.md`). With one
 * allocator, that start method changes this module, not every shared class.
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

import { currentStartMethod, type StartMethod } from './start-methods.js';
import { loadNative } from './process/native.js';
import { allocateProcessShared, noNativeError } from './process/segments.js';

type Allocator = (byteLength: number, maxByteLength: number | undefined) => SharedArrayBuffer;

/**
 * Memory that other OS processes can map: memfd segments of the native addon (`process/segments.ts`),
 * reserved at `maxByteLength` when given. Without the addon, an `ERR_MP_NO_NATIVE` error that names the
 * fix. The `'process'` start method's allocator.
 *
 * @example
 * ```ts
 * const words = new Int32Array(allocateAcrossProcesses(16, undefined));
 * ```
 */
export const allocateAcrossProcesses: Allocator = (byteLength, maxByteLength) => {
  const loaded = loadNative();
  if (loaded.native === undefined) throw noNativeError(loaded.reason);
  return allocateProcessShared(loaded.native, byteLength, maxByteLength);
};

// Under 'thread', every worker lives in this OS process: any SharedArrayBuffer is shared.
const allocators: Readonly<Record<StartMethod, Allocator>> = {
  thread: (byteLength, maxByteLength) =>
    maxByteLength === undefined ? new SharedArrayBuffer(byteLength) : new SharedArrayBuffer(byteLength, { maxByteLength }),
};

/** Options of `allocateShared`. */
export interface SharedMemoryOptions {
  /** The size it may grow to (`SharedArrayBuffer.prototype.grow`); omitted: fixed at `byteLength`. */
  readonly maxByteLength?: number;
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
  return allocators[currentStartMethod()](byteLength, options?.maxByteLength);
}
