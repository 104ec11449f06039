/**
 * The one seam through which a `SharedArrayBuffer` crosses into or out of a child process.
 *
 * Node's IPC serializer cannot carry shared memory (a `SharedArrayBuffer` lives in one OS process), so
 * messages to and from `'process'` children are written by our own serializer (`message-codec.ts`),
 * which hands every `SharedArrayBuffer` it meets to the codec installed here: the sender `reduce`s it
 * to a `SegmentRef` (which segment of process-shared memory, where in it), the receiver `revive`s the
 * ref to a `SharedArrayBuffer` over the same memory. Only buffers that came from process-shared memory
 * (the native addon's segments) can be reduced.
 *
 * Without the addon nothing can be reduced: the codec throws `ERR_MP_NATIVE_UNAVAILABLE`, the same error the
 * `'process'` allocator throws (`noNativeError`), so a shared object created for, or passed to, a
 * process child fails with one clear message. The segments module (`segments.ts`) installs the real
 * codec with `setSharedBufferCodec` as it loads (it throws that error itself where the addon is
 * missing); the default here only covers a program that never loaded it. The fds of the segments a
 * message names travel beside it (`channel.ts`).
 *
 * @example
 * ```ts
 * setSharedBufferCodec({
 *   reduce: (buffer) => segments.refOf(buffer),   // throws for memory no other process can map
 *   revive: (ref) => segments.bufferOf(ref),
 * });
 * ```
 */
import { misuse } from '../../errors.js';
import { loadNative } from './native.js';
import { perThread } from '../thread-state.js';

/**
 * Where a `SharedArrayBuffer` lives in process-shared memory: structured-clonable, so it can travel in
 * a message. The segments module decides what the numbers mean.
 */
export interface SegmentRef {
  /** Which segment (an id both processes agree on). */
  readonly segment: number;
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Set for a growable buffer: the size it may grow to. */
  readonly maxByteLength?: number;
  /**
   * A process that held the segment when the ref was made, and its fd there: a receiver that did not
   * get the fd with the message (a ref read from a queue) reopens it through `/proc/<pid>/fd/<fd>`.
   */
  readonly pid: number;
  readonly fd: number;
}

/** How shared memory crosses between processes (see the module header). */
export interface SharedBufferCodec {
  /** The ref of `buffer`; throws if no other process can map it. */
  reduce(buffer: SharedArrayBuffer): SegmentRef;
  /** A `SharedArrayBuffer` over the memory `ref` names, mapped in this process. */
  revive(ref: SegmentRef): SharedArrayBuffer;
}

/**
 * The error for shared memory asked of, or sent to, a process child when this process has no usable
 * native addon. Code `ERR_MP_NATIVE_UNAVAILABLE`.
 *
 * @example `throw noNativeError('cannot send shared memory to a process child');`
 */
export function noNativeError(what: string): Error & { code: 'ERR_MP_NATIVE_UNAVAILABLE' } {
  // The loader's reason ends with how to build the addon, which this message says once, below.
  const reason = (loadNative().reason ?? 'this build of it cannot share memory here').replace(/: run `npm run build:native`.*$/s, '');
  // On Deno, Node-API cannot make a SharedArrayBuffer at all: no build of the addon helps there.
  const fix =
    'Deno' in globalThis
      ? "Use getContext('thread'), whose workers share memory (Deno's Node-API cannot share memory across processes)."
      : 'Install a C++ compiler, make and python3 and run `npm rebuild multiprocessing` (or `npm run build:native`), ' +
        "or use getContext('thread'), whose workers share memory without it.";
  return misuse(Error, 'ERR_MP_NATIVE_UNAVAILABLE', `${what}: shared memory across processes needs the native addon (${reason}). ${fix}`) as Error & {
    code: 'ERR_MP_NATIVE_UNAVAILABLE';
  };
}

const withoutAddon: SharedBufferCodec = {
  reduce: () => {
    throw noNativeError('cannot send a SharedArrayBuffer (or a shared object) to or from a process child');
  },
  revive: () => {
    throw noNativeError('cannot receive shared memory from another process');
  },
};

// Both builds of the library loaded in one process (ESM and CommonJS) use the codec installed in either.
const installed = perThread<{ codec: SharedBufferCodec }>('sharedBufferCodec', () => ({ codec: withoutAddon }));

/** The codec in use: the addon's once the segments module installed it, else one that throws `ERR_MP_NATIVE_UNAVAILABLE`. */
export function sharedBufferCodec(): SharedBufferCodec {
  return installed().codec;
}

/**
 * Installs how shared memory crosses between processes (the segments module, once the addon loaded).
 *
 * @example `setSharedBufferCodec({ reduce: refOf, revive: bufferOf });`
 */
export function setSharedBufferCodec(codec: SharedBufferCodec): void {
  installed().codec = codec;
}
