/**
 * How segment fds travel between a parent and a forked child: a Unix socketpair made for each child
 * at fork (the child's end is an extra entry of `fork`'s `stdio`), over which each side sends the fd of
 * every segment a message refers to (`SCM_RIGHTS`, tagged with the segment's id) before it sends the
 * message itself over IPC. The receiver takes the fds when it revives the message, maps what it needs,
 * and closes the rest.
 *
 * Why every message sends its segments, instead of each side remembering what the other has: the
 * receiver closes a segment's fd once nothing it maps comes from it (`segments.ts`), so "sent once"
 * does not mean "still there". A `sendmsg` per segment per message (a few µs) buys a protocol without
 * shared bookkeeping; a duplicate is closed on arrival. Messages that carry shared objects are start
 * messages and task arguments, not the hot path (queue items travel through shared rings).
 *
 * Why this and not a request to the parent when a child meets an unknown segment: the parent's event
 * loop may be blocked (in `lock.acquire()`, `queue.get()`), and nothing shared may depend on it. A
 * reference read from shared memory (a queue item written by a sibling) reopens the writer's fd through
 * `/proc/<pid>/fd` instead (`reviveSegment`), which needs no one's event loop.
 *
 * Ordering: `sendFd` completes before the IPC message is written, and the receiver takes fds only
 * after that message arrived, so a message's fds are always there when it is revived. The sender lists
 * the segments it sent with the message (`flush`), so the receiver closes exactly those it did not map
 * (`release`), never fds that belong to a later message.
 *
 * @example
 * ```ts
 * // parent
 * const prepared = prepareChildChannel();
 * const child = fork(script, { stdio: ['inherit', 'inherit', 'inherit', 'ipc', prepared.childFd] });
 * const channel = prepared.attach();         // closes the parent's copy of the child's end
 * const ref = channel.reduce(buffer);        // sends the segment's fd now
 * child.send({ ref, segments: channel.flush() });
 * // child (its end is fd 4: the index in `stdio`)
 * const channel = openParentChannel(4);
 * process.on('message', ({ ref, segments }) => {
 *   const buffer = channel.revive(ref, segments);
 *   channel.release(segments);
 * });
 * ```
 */
import { misuse } from '../../errors.js';
import { loadNative, type NativeAddon } from './native.js';
import { adoptSegmentFd, noNativeError, releaseSegments, reviveSegment, segmentFd, segmentRefOf, type SegmentRef } from './segments.js';

/** The index of the child's end in `fork`'s `stdio` this module's callers use: its fd in the child. */
export const CHILD_CHANNEL_FD = 4;

/** One side of a parent↔child segment channel. */
export interface SegmentChannel {
  /**
   * The reference of a process-shared `buffer`, with its segment's fd sent at once (so before the
   * message that carries the reference). Throws `ERR_MP_UNCLONEABLE` for memory no other process can
   * map (made under `'thread'`, or by the `SharedArrayBuffer` constructor).
   */
  reduce(buffer: SharedArrayBuffer): SegmentRef;
  /** The segments sent since the last call: send them with the message, for the receiver's `release`. */
  flush(): number[];
  /** The buffer of `ref`, after taking the fds that arrived (`segments`: the message's list). */
  revive(ref: SegmentRef): SharedArrayBuffer;
  /** After a message is revived: closes the fds of its segments that nothing here maps. */
  release(segments: readonly number[]): void;
  /** Closes this side's socket. */
  close(): void;
}

/** What `prepareChildChannel` returns: the end to give the child, and the parent's side once forked. */
export interface PreparedChildChannel {
  /** The child's end: put it in `fork`'s `stdio` at index {@link CHILD_CHANNEL_FD}. */
  readonly childFd: number;
  /** Once the child is forked (it has its own copy): closes the parent's copy of the child's end. */
  attach(): SegmentChannel;
  /** The fork failed: closes both ends. */
  abandon(): void;
}

function addon(): NativeAddon {
  const loaded = loadNative();
  if (loaded.native === undefined) throw noNativeError(loaded.reason);
  return loaded.native;
}

/**
 * A socketpair for a child about to be forked (the start method's hook; see the module notes).
 *
 * @example
 * ```ts
 * const prepared = prepareChildChannel();
 * try { child = fork(script, { stdio: ['inherit', 'inherit', 'inherit', 'ipc', prepared.childFd] }); }
 * catch (error) { prepared.abandon(); throw error; }
 * const channel = prepared.attach();
 * ```
 */
export function prepareChildChannel(): PreparedChildChannel {
  const native = addon();
  const [parentFd, childFd] = native.socketPair();
  return {
    childFd,
    attach: () => {
      native.closeFd(childFd);
      return openChannel(native, parentFd);
    },
    abandon: () => {
      native.closeFd(childFd);
      native.closeFd(parentFd);
    },
  };
}

/**
 * The child's side, over the end it inherited (fd {@link CHILD_CHANNEL_FD} unless told otherwise).
 *
 * @example
 * ```ts
 * const channel = openParentChannel(CHILD_CHANNEL_FD);
 * ```
 */
export function openParentChannel(fd: number = CHILD_CHANNEL_FD): SegmentChannel {
  return openChannel(addon(), fd);
}

function openChannel(native: NativeAddon, socket: number): SegmentChannel {
  let sent: number[] = [];
  let open = true;
  const drain = (): void => {
    for (let got = native.recvFd(socket); got !== undefined; got = native.recvFd(socket)) adoptSegmentFd(got.tag, got.fd);
  };
  return {
    reduce(buffer) {
      const ref = segmentRefOf(buffer);
      if (ref === undefined) {
        throw misuse(
          TypeError,
          'ERR_MP_UNCLONEABLE',
          'this SharedArrayBuffer cannot be shared with another process: it was made in this process only ' +
            "(by the SharedArrayBuffer constructor, or by an object created under the 'thread' start method). Create the " +
            "shared object from the 'process' context (getContext('process')), or pass a copy",
        );
      }
      if (!sent.includes(ref.segment)) {
        native.sendFd(socket, segmentFd(ref.segment)!, ref.segment);
        sent.push(ref.segment);
      }
      return ref;
    },
    flush() {
      const list = sent;
      sent = [];
      return list;
    },
    revive(ref) {
      if (open) drain();
      return reviveSegment(ref);
    },
    release(segments) {
      releaseSegments(segments);
    },
    close() {
      if (!open) return;
      open = false;
      // Fds still in the socket are closed with it.
      native.closeFd(socket);
    },
  };
}
