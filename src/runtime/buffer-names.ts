/**
 * How a `SharedArrayBuffer` is named inside bytes (queue items, pipe messages), and found again by
 * whichever thread or process reads them: the one mechanism behind a shared object carried by a queue.
 *
 * Two kinds of memory, two kinds of name:
 * - memory of the `'process'` allocator is named by its segment reference (`process/segments.ts`):
 *   any process of the program can map it, even one that never heard of it, by reopening the segment
 *   through the sender's `/proc/<pid>/fd`, so an item put by one child is read by a sibling or by a
 *   thread of another child;
 * - any other `SharedArrayBuffer` lives in this process only, and is named by a program-wide id that
 *   the threads of this process learn over a channel (`thread/buffer-directory.ts`). On Bun and Deno a
 *   thread learns them only when its event loop runs: a reader asks `namesNotYetHeard` before it
 *   revives anything, and an async one awaits `heardOf` them.
 *
 * @example
 * ```ts
 * const name = nameOfBuffer(value.view.buffer as SharedArrayBuffer); // writer, before the item is visible
 * bufferNamed(name);                                                  // reader, in any thread or process
 * ```
 */
import { bufferById, bufferId, hearsLate, unheardOf } from './thread/buffer-directory.js';
import { reviveSegment, segmentRefOf, type SegmentRef } from './process/segments.js';

/** A name of a `SharedArrayBuffer` that can be written into bytes. */
export type BufferName = number | SegmentRef;

/** The name of `buffer` (announcing it to this process's threads first, when it is thread memory). */
export function nameOfBuffer(buffer: SharedArrayBuffer): BufferName {
  return segmentRefOf(buffer) ?? bufferId(buffer);
}

/** The buffer `name` names, in this thread: the same object every time while it lives. */
export function bufferNamed(name: BufferName): SharedArrayBuffer {
  return typeof name === 'number' ? bufferById(name) : reviveSegment(name);
}

/**
 * Of the names `names()` lists, the ids this thread has not heard of yet and can hear of only on its
 * event loop (thread memory on Bun and Deno): `bufferNamed` would fail on them now. Where threads hear
 * at once (Node), always none, without calling `names`: a reader pays for the question only where it
 * can have an answer.
 */
export function namesNotYetHeard(names: () => readonly BufferName[]): number[] {
  if (!hearsLate()) return [];
  return unheardOf(names().filter((name): name is number => typeof name === 'number'));
}

export { heardOf, notHeardOf } from './thread/buffer-directory.js';
