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
 * Cost: a blocking `sendmsg` per segment per message. The receiver's socket buffer holds a few hundred
 * of them; a sender that outruns a child that stopped reading (busy in a long synchronous task) blocks
 * until it reads again, as a writer to a full pipe does.
 *
 * Ordering: `sendFd` completes before the IPC message is written, and the receiver takes fds only
 * after that message arrived, so a message's fds are always there when it is revived. The message
 * carries its refs, so the receiver closes exactly the fds of its segments that it did not map
 * (`release`), never fds that belong to a later message.
 *
 * @example
 * ```ts
 * // parent
 * const prepared = prepareChildChannel();
 * const child = fork(script, { stdio: ['inherit', 'inherit', 'inherit', 'ipc', prepared.childFd] });
 * const channel = prepared.attach();         // closes the parent's copy of the child's end
 * const refs = [reduceShared(buffer)];
 * channel.send(refs);                        // the fds first,
 * child.send({ refs });                      // then the message
 * // child (its end is fd 4: the index in `stdio`)
 * const channel = openParentChannel();
 * process.on('message', ({ refs }) => {
 *   channel.receive();
 *   const buffers = refs.map(reviveSegment);
 *   channel.release(refs);
 * });
 * ```
 */
import { misuse } from '../../errors.js';
import { loadNative, type NativeAddon } from './native.js';
import { adoptSegmentFd, releaseSegments, segmentFd } from './segments.js';
import { noNativeError, type SegmentRef } from './shared-buffer-codec.js';
import { decodeMessage, encodeMessage, type WireMessage } from './message-codec.js';
import type { Movable } from '../child.js';

/** The index of the child's end in `fork`'s `stdio` this module's callers use: its fd in the child. */
export const CHILD_CHANNEL_FD = 4;

/**
 * Set in a child's environment by its starter when the child has a channel (at fd
 * {@link CHILD_CHANNEL_FD}); the child removes it once read, so that neither its code nor its own
 * children see it.
 */
export const CHANNEL_ENV = 'MULTIPROCESSING_SEGMENT_FD';

/** One side of a parent↔child segment channel. */
export interface SegmentChannel {
  /** Before a message that names `refs` is sent: sends the fd of each of their segments, once each. */
  send(refs: readonly SegmentRef[]): void;
  /** A message arrived, before it is revived: takes the fds that came before it. */
  receive(): void;
  /** After a message that named `refs` is revived: closes the fds of its segments that nothing here maps. */
  release(refs: readonly SegmentRef[]): void;
  /** Closes this side's socket (fds still in it are closed with it). */
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
  if (loaded.native === undefined) throw noNativeError('cannot pass shared memory to or from a process child');
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
  let open = true;
  return {
    send(refs) {
      const sent = new Set<number>();
      for (const { segment } of refs) {
        if (sent.has(segment)) continue;
        sent.add(segment);
        const fd = segmentFd(segment);
        // A ref of this thread names a segment it holds open (its buffer is alive: it is being sent).
        if (fd === undefined) throw misuse(Error, 'ERR_MP_INTERNAL', `segment ${segment} is not open in this thread`);
        native.sendFd(socket, fd, segment);
      }
    },
    receive() {
      if (!open) return;
      for (let got = native.recvFd(socket); got !== undefined; got = native.recvFd(socket)) adoptSegmentFd(got.tag, got.fd);
    },
    release(refs) {
      releaseSegments(refs.map((ref) => ref.segment));
    },
    close() {
      if (!open) return;
      open = false;
      native.closeFd(socket);
    },
  };
}

/**
 * Sends over `channel` the fds of the segments `wire` names, if any: call it just before `wire` is
 * written to IPC.
 *
 * @example
 * ```ts
 * const wire = encodeMessage(message);
 * sendSegmentsOf(channel, wire);
 * child.send(wire);
 * ```
 */
export function sendSegmentsOf(channel: SegmentChannel | undefined, wire: WireMessage): WireMessage {
  if (Array.isArray(wire)) {
    // A ref could be made only with the addon, and then every child has a channel.
    if (channel === undefined) throw noNativeError('cannot pass shared memory to a process child started without a segment channel');
    channel.send(wire[1]);
  }
  return wire;
}

/**
 * `message` encoded for the IPC channel (`message-codec.ts`), with the fds of the segments it names
 * already sent over `channel`: write the result to IPC next.
 *
 * @example
 * ```ts
 * child.send(encodeForChannel(channel, message));
 * ```
 */
export function encodeForChannel(channel: SegmentChannel | undefined, message: unknown, transfer?: readonly Movable[]): WireMessage {
  return sendSegmentsOf(channel, encodeMessage(message, transfer));
}

/**
 * A message from the IPC channel, decoded with the fds that came over `channel` before it; the fds of
 * its segments that nothing maps are closed afterwards.
 *
 * @example
 * ```ts
 * child.on('message', (wire) => emit(decodeFromChannel(channel, wire)));
 * ```
 */
export function decodeFromChannel(channel: SegmentChannel | undefined, wire: WireMessage): unknown {
  if (!Array.isArray(wire)) return decodeMessage(wire);
  channel?.receive();
  try {
    return decodeMessage(wire);
  } finally {
    channel?.release(wire[1]);
  }
}

/**
 * The channel this child was started with, if its starter gave it one (see {@link CHANNEL_ENV}).
 *
 * @example
 * ```ts
 * const channel = inheritedChannel();
 * ```
 */
export function inheritedChannel(): SegmentChannel | undefined {
  const fd = process.env[CHANNEL_ENV];
  if (fd === undefined) return undefined;
  delete process.env[CHANNEL_ENV];
  return openParentChannel(Number(fd));
}
