/**
 * The process-shared allocator and its registry: where the `'process'` start method's shared memory
 * comes from, and how a buffer becomes a reference another process can map, and back.
 *
 * Why arenas: a memfd costs a file descriptor in every process that holds it, and a program makes many
 * small shared objects (each `Value` is 8 bytes plus a lock word). So objects of up to 64 KiB come out of
 * 1 MiB arena segments, and larger ones get a segment of their own. Every object is its own mapping
 * (`mapSegment(fd, length, offset)`) of a page-aligned slot of its arena, so each shared class keeps
 * using its buffer from index 0, as under `'thread'`. The price is a page per small object (4 KiB for an
 * 8-byte `Value`), which Python's `multiprocessing.heap` avoids by packing objects into one mapping at
 * offsets; that would change every shared class's layout, and the memory of an untouched page is never
 * committed, so the page is what a touched object costs.
 *
 * Why slots are never reused: a slot's memory is shared with every process that revived it, and this
 * process cannot know when the last of them dropped it. So a dropped object's slot stays in its arena,
 * and the arena's memory goes back to the kernel when its fd and every mapping of it are gone, in every
 * process (a memfd has no name to leak: SIGKILL frees it too). The fd of an arena is closed here once the
 * arena is full and no buffer mapped from it is alive in this thread (a `FinalizationRegistry`).
 *
 * A growable buffer (a queue's ring asks for `maxByteLength`) cannot cross processes, so it gets its own
 * segment reserved at its largest size: untouched pages cost nothing, and the ring never calls `grow()`
 * on a buffer handed out at full size (`runtime/shared-memory.ts`).
 *
 * Identity: a reference is `{ segment, byteOffset, byteLength }`, where `segment` is the memfd's inode number,
 * the same in every process that maps it. Each thread maps a given (segment, offset) once while the
 * buffer lives: reviving a reference again gives back the same `SharedArrayBuffer`, so caches keyed by
 * buffer identity (the revivers of `transport/shareable.ts`) keep working. Registries are per thread
 * (V8 isolates do not share objects); file descriptors are per process, and each registry opens and
 * closes its own.
 *
 * How a process gets the fd of a segment it lacks: see `channel.ts` (SCM_RIGHTS beside each message
 * between a parent and its child) and {@link reviveSegment} (the fallback for a reference read from
 * shared memory, such as a queue item from a sibling).
 *
 * @example
 * ```ts
 * const native = loadNative().native!;
 * const buffer = allocateProcessShared(native, 8);
 * const ref = segmentRefOf(buffer)!;            // { segment, byteOffset, byteLength: 8, pid, fd }
 * reviveSegment(ref) === buffer;                // true: one mapping per (segment, offset) and thread
 * ```
 */
import { fstatSync, openSync } from 'node:fs';
import { misuse } from '../../errors.js';
import { perThread } from '../thread-state.js';
import { loadNative, type NativeAddon } from './native.js';
import { noNativeError, setSharedBufferCodec, type SegmentRef } from './shared-buffer-codec.js';

export type { SegmentRef };

/** The size of an arena segment. */
export const ARENA_BYTES = 1 << 20;
/** Buffers up to this size come out of an arena; larger ones get a segment of their own. */
export const ARENA_OBJECT_MAX = 64 * 1024;

interface SegmentEntry {
  readonly id: number;
  /** This thread's fd of the segment; closed (and the entry dropped) once nothing here needs it. */
  readonly fd: number;
  /** Buffers mapped from it in this thread and not yet collected. */
  live: number;
}

interface Arena {
  readonly entry: SegmentEntry;
  readonly size: number;
  next: number;
}

interface Registry {
  readonly segments: Map<number, SegmentEntry>;
  /** `segment/offset` → the buffer mapped there, while it lives. */
  readonly buffers: Map<string, WeakRef<SharedArrayBuffer>>;
  readonly refs: WeakMap<SharedArrayBuffer, SegmentRef>;
  readonly collected: FinalizationRegistry<{ readonly entry: SegmentEntry; readonly key: string }>;
  arena: Arena | undefined;
  /** Set by the first buffer registered: until then no wait needs the registry's lookup. */
  used: boolean;
}

// Both builds of the library in one thread (ESM and CommonJS) share the registry, so a buffer made by
// one is known to the other.
const registry = perThread<Registry>('processSegments', () => {
  const state: Registry = {
    segments: new Map(),
    buffers: new Map(),
    refs: new WeakMap(),
    collected: new FinalizationRegistry(({ entry, key }) => {
      if (state.buffers.get(key)?.deref() === undefined) state.buffers.delete(key);
      entry.live--;
      releaseIfUnused(state, entry);
    }),
    arena: undefined,
    used: false,
  };
  return state;
});

function native(): NativeAddon {
  const loaded = loadNative();
  if (loaded.native === undefined) throw noNativeError('cannot map shared memory of another process');
  return loaded.native;
}

function releaseIfUnused(state: Registry, entry: SegmentEntry): void {
  if (entry.live > 0 || state.arena?.entry === entry || state.segments.get(entry.id) !== entry) return;
  state.segments.delete(entry.id);
  native().closeFd(entry.fd);
}

/** A new entry for a segment this thread lacks (`id`: its inode, `fstat`). */
function adopt(state: Registry, fd: number, id: number = fstatSync(fd).ino): SegmentEntry {
  const entry: SegmentEntry = { id, fd, live: 0 };
  state.segments.set(id, entry);
  return entry;
}

function register(state: Registry, entry: SegmentEntry, buffer: SharedArrayBuffer, offset: number): SharedArrayBuffer {
  const key = `${entry.id}/${offset}`;
  state.used = true;
  entry.live++;
  state.buffers.set(key, new WeakRef(buffer));
  state.refs.set(buffer, { segment: entry.id, byteOffset: offset, byteLength: buffer.byteLength, pid: process.pid, fd: entry.fd });
  state.collected.register(buffer, { entry, key });
  return buffer;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Zeroed memory of `byteLength` bytes that other processes can map (by the fd of its segment), fixed
 * at `maxByteLength` when that is given (see the module notes: reserved, not grown).
 *
 * @example
 * ```ts
 * const words = new Int32Array(allocateProcessShared(loadNative().native!, 16));
 * ```
 */
export function allocateProcessShared(addon: NativeAddon, byteLength: number, maxByteLength?: number): SharedArrayBuffer {
  const state = registry();
  const length = maxByteLength ?? byteLength;
  if (maxByteLength !== undefined || length > ARENA_OBJECT_MAX) {
    const { fd, buffer } = addon.createSegment(length, 'multiprocessing');
    return register(state, adopt(state, fd), buffer, 0);
  }
  const slot = roundUp(Math.max(length, 1), addon.pageSize);
  let arena = state.arena;
  if (arena === undefined || arena.next + slot > arena.size) {
    const { fd } = addon.createSegment(ARENA_BYTES, 'multiprocessing-arena');
    const retired = arena?.entry;
    arena = state.arena = { entry: adopt(state, fd), size: ARENA_BYTES, next: 0 };
    if (retired !== undefined) releaseIfUnused(state, retired);
  }
  const offset = arena.next;
  arena.next += slot;
  return register(state, arena.entry, addon.mapSegment(arena.entry.fd, length, offset), offset);
}

/**
 * True for words over a buffer of this allocator (mapped in this thread), whose waits must go through
 * `futex(2)`. On every wait and wake (`futex.ts`): a program that never mapped process-shared memory
 * pays one property read, not the buffer lookup.
 *
 * @example
 * ```ts
 * isProcessShared(new Int32Array(allocateShared(4))); // false under 'thread': Atomics.wait serves it
 * ```
 */
export function isProcessShared(words: Int32Array): boolean {
  return shared.used && shared.refs.has(words.buffer as SharedArrayBuffer);
}
const shared = registry();

/**
 * Where `buffer` lives, for another process; `undefined` for a buffer this allocator did not make
 * (thread-only memory, which no other process can map).
 *
 * @example
 * ```ts
 * const ref = segmentRefOf(buffer);
 * if (ref === undefined) throw new TypeError('not shared across processes');
 * ```
 */
export function segmentRefOf(buffer: SharedArrayBuffer): SegmentRef | undefined {
  return registry().refs.get(buffer);
}

/**
 * Where `buffer` lives, for another process (the sending side of the shared-buffer seam). Throws
 * `ERR_MP_UNCLONEABLE` for memory no other process can map, and `ERR_MP_NATIVE_UNAVAILABLE` without the addon.
 *
 * @example
 * ```ts
 * const ref = reduceShared(value.view.buffer); // then send the fd (channel.ts) and the ref
 * ```
 */
export function reduceShared(buffer: SharedArrayBuffer): SegmentRef {
  const ref = registry().refs.get(buffer);
  if (ref !== undefined) return ref;
  if (loadNative().native === undefined) throw noNativeError('cannot send a SharedArrayBuffer (or a shared object) to or from a process child');
  const error = misuse(
    TypeError,
    'ERR_MP_UNCLONEABLE',
    'this SharedArrayBuffer cannot be shared with another process: it was made for this process only ' +
      "(by the SharedArrayBuffer constructor, or by an object created under the 'thread' start method). Create the " +
      "shared object in the 'process' context (getContext('process')), or pass a copy",
  );
  threadOnlyErrors.add(error);
  throw error;
}

// The errors of reduceShared, which the sender replaces by one that names the object's path.
const threadOnlyErrors = new WeakSet<Error>();

/** Whether `error` says that memory of this process only was sent to another process (see `reduceShared`). */
export function isThreadOnlyMemoryError(error: unknown): boolean {
  return error instanceof Error && threadOnlyErrors.has(error);
}

/**
 * This thread's fd of a segment it has open, for sending it to another process (`channel.ts`).
 *
 * @example
 * ```ts
 * const fd = segmentFd(segmentRefOf(buffer)!.segment);
 * ```
 */
export function segmentFd(segment: number): number | undefined {
  return registry().segments.get(segment)?.fd;
}

/**
 * Takes a received fd of `segment` (`recvFd`'s tag): kept if this thread lacks the segment, else
 * closed. A kept fd with nothing mapped from it is closed by {@link releaseSegments}.
 *
 * @example
 * ```ts
 * for (let got = addon.recvFd(socket); got !== undefined; got = addon.recvFd(socket)) adoptSegmentFd(got.tag, got.fd);
 * ```
 */
export function adoptSegmentFd(segment: number, fd: number): void {
  const state = registry();
  const id = fstatSync(fd).ino;
  if (state.segments.has(segment) || id !== segment) {
    native().closeFd(fd);
    // Not what the sender announced: nothing may map it under that name.
    if (id !== segment) throw misuse(Error, 'ERR_MP_CORRUPT_RECORD', `a segment fd arrived tagged ${segment} but is segment ${id}`);
    return;
  }
  adopt(state, fd, id);
}

/**
 * Closes the fds of `segments` that nothing in this thread maps (after a message that listed them is
 * revived: it referred to buffers this thread already had, or to none of them).
 *
 * @example
 * ```ts
 * const value = reviveMessage(message);
 * releaseSegments(message.segments);
 * ```
 */
export function releaseSegments(segments: readonly number[]): void {
  const state = registry();
  for (const id of segments) {
    const entry = state.segments.get(id);
    if (entry !== undefined) releaseIfUnused(state, entry);
  }
}

/**
 * The buffer `ref` describes, mapped in this thread (the same object while it lives). The segment's fd
 * must have arrived (`adoptSegmentFd`), or else the process named in the reference must still hold it:
 * then it is reopened through `/proc/<pid>/fd/<fd>` (same user, Linux; this is how a reference read from
 * a queue, written by a sibling, finds its memory without a round trip through the parent's event loop)
 * and checked to be the same segment.
 *
 * @example
 * ```ts
 * const buffer = reviveSegment({ segment, byteOffset: 0, byteLength: 8, pid, fd });
 * ```
 */
export function reviveSegment(ref: SegmentRef): SharedArrayBuffer {
  const state = registry();
  const known = state.buffers.get(`${ref.segment}/${ref.byteOffset}`)?.deref();
  if (known !== undefined) return known;
  const addon = native();
  const entry = state.segments.get(ref.segment) ?? reopen(state, ref);
  try {
    return register(state, entry, addon.mapSegment(entry.fd, ref.byteLength, ref.byteOffset), ref.byteOffset);
  } finally {
    releaseIfUnused(state, entry);
  }
}

function reopen(state: Registry, ref: SegmentRef): SegmentEntry {
  let fd: number;
  try {
    fd = openSync(`/proc/${ref.pid}/fd/${ref.fd}`, 'r+');
  } catch (error) {
    throw segmentGone(ref, error instanceof Error ? error.message : String(error));
  }
  const id = fstatSync(fd).ino;
  if (id !== ref.segment) {
    native().closeFd(fd);
    throw segmentGone(ref, `fd ${ref.fd} of process ${ref.pid} is another file now`);
  }
  return adopt(state, fd, id);
}

function segmentGone(ref: SegmentRef, why: string): Error {
  return misuse(
    Error,
    'ERR_MP_SEGMENT_GONE',
    `cannot map shared segment ${ref.segment}: it never reached this process, and process ${ref.pid}, which held it, ` +
      `no longer does (${why}). Keep the shared object alive in the process that sends it until the receiver has it`,
  );
}

/**
 * This thread's registry in numbers, for tests: open segment fds, and buffers mapped and alive.
 *
 * @example
 * ```ts
 * const { segments } = segmentStats();
 * ```
 */
export function segmentStats(): { readonly segments: number; readonly buffers: number } {
  const state = registry();
  let buffers = 0;
  for (const entry of state.segments.values()) buffers += entry.live;
  return { segments: state.segments.size, buffers };
}

// The seam every message to and from a process child goes through (message-codec.ts) reduces and
// revives shared memory here. Installed as this module loads (futex.ts imports it, so it always is);
// without the addon both sides throw ERR_MP_NATIVE_UNAVAILABLE, as the seam's default does.
setSharedBufferCodec({ reduce: reduceShared, revive: reviveSegment });
