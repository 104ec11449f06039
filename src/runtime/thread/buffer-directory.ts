/**
 * Program-wide ids for the `SharedArrayBuffer`s of values that cross as bytes (queue items and pipe
 * messages), so that a shared object put on a queue arrives live in whichever thread takes it.
 *
 * A `SharedArrayBuffer` cannot be written into bytes; a `BroadcastChannel` message can carry one to
 * every thread of the program, and `receiveMessageOnPort` reads such a message synchronously (a message
 * posted by another thread is receivable as soon as `postMessage` returns: checked on Node 20). So:
 * - a sender gives each buffer an id unique in the program (its thread id and a counter) and posts
 *   `{ id, buffer }` on the channel once, before it writes the item that names the id;
 * - a receiver keeps what its channel delivers while its event loop runs, and one that meets an id it
 *   does not know (its loop was busy) reads its channel synchronously until it finds it.
 * A channel only receives what is posted after it opened, so every thread opens its channel before it
 * can hold a queue, and a thread starting a child hands it what it knows (`childStarting`). A buffer
 * announced while a child is starting (after that hand-over, before the child's channel opened) would
 * be missed: children count themselves in a program-wide word until their channel is open, and a
 * sender that sees the count above zero waits for it to drop (a child's start-up, milliseconds) and
 * posts again.
 *
 * Bun (1.4) and Deno (2.9) cannot read a `BroadcastChannel` synchronously (Bun's `receiveMessageOnPort`
 * returns nothing, Deno's throws): there a thread knows only what its event loop has delivered
 * (`hearsLate`). A blocking read that meets an unknown id fails at once with a message that says so
 * (`notHeardOf`); an async one waits for the news instead (`heardOf`), which is on its way, since the
 * sender announced the buffer before it wrote the item.
 *
 * Memory: each thread keeps every buffer announced to it (and every buffer it announced) for its
 * lifetime, since an item naming it may still be in some queue. A program that sends many short-lived
 * shared objects through queues keeps their memory; send long-lived ones (as Python programs do).
 *
 * @example
 * ```ts
 * const id = bufferId(sab);        // sender, before writing the item
 * bufferById(id) === sab;          // any thread, once the item is visible
 * ```
 */
import { perThread } from '../thread-state.js';
import { allocateShared } from '../shared-memory.js';
import { BroadcastChannel, receiveMessageOnPort, threadId } from 'node:worker_threads';
import { misuse } from '../../errors.js';
import { deadlineAfter, notify, pause, remaining, wait } from '../futex.js';

const CHANNEL = 'multiprocessing.sharedBuffers';
// A child that never reaches its bootstrap (killed at once) is waited for this long at most.
const BOOT_WAIT_MS = 10_000;
// How long a receiver looks for a buffer that should already have been announced.
const FIND_WAIT_MS = 30_000;

interface Announcement {
  readonly id: number;
  readonly buffer: SharedArrayBuffer;
}

/** What a child is handed at start: the program-wide count of starting children, and known buffers. */
export interface BufferDirectory {
  readonly booting: Int32Array;
  /** 0 until this child's channel is open; whoever sets it to 1 first uncounts the child. */
  readonly ack: Int32Array;
  readonly known: Map<number, SharedArrayBuffer>;
}

interface ThreadState {
  channel: BroadcastChannel | undefined;
  booting: Int32Array;
  readonly known: Map<number, SharedArrayBuffer>;
  readonly ids: WeakMap<SharedArrayBuffer, number>;
  next: number;
}

// Two copies of the library in one thread (ESM and CommonJS) share one directory.
const state = perThread<ThreadState>('sharedBuffers', () => ({
    channel: undefined,
    booting: new Int32Array(allocateShared(4, { startMethod: 'thread' })),
    known: new Map(),
    ids: new WeakMap(),
    next: 0,
  }));

function channel(s: ThreadState): BroadcastChannel {
  if (s.channel === undefined) {
    const opened = new BroadcastChannel(CHANNEL);
    // A started port with no listener drops what it dispatches when the event loop runs: keep it. The
    // listener must not keep the program alive (unref after adding it).
    opened.onmessage = (event: unknown) => learn(s, event);
    opened.unref();
    s.channel = opened;
  }
  return s.channel;
}

function learn(s: ThreadState, event: unknown): void {
  const { id, buffer } = (event as { data: Announcement }).data;
  s.known.set(id, buffer);
}

/** Opens this thread's channel: from now on it receives every buffer announced in the program. */
export function listenForBuffers(): void {
  channel(state());
}

// Whether this runtime reads a channel synchronously: probed once per thread, with a second channel
// of this thread posting to a first one (about 0.25 ms on Node 20), at its first item that holds
// shared memory (`hearsLate`).
let syncReceive: boolean | undefined;
function readsSynchronously(): boolean {
  if (syncReceive === undefined) {
    const name = `${CHANNEL}.probe`;
    const [reader, writer] = [new BroadcastChannel(name), new BroadcastChannel(name)];
    try {
      writer.postMessage(0);
      syncReceive = receiveMessageOnPort(reader as never) !== undefined;
    } catch {
      syncReceive = false;
    } finally {
      reader.close();
      writer.close();
    }
  }
  return syncReceive;
}

// Reads what the channel holds now. No probe first (it opens two more channels): where a channel cannot
// be read synchronously, this reads nothing (Bun) or throws (Deno), and `bufferById` probes if it must.
function drain(s: ThreadState): void {
  const port = channel(s);
  for (;;) {
    let received: { message: Announcement } | undefined;
    try {
      received = receiveMessageOnPort(port as never) as { message: Announcement } | undefined;
    } catch {
      return;
    }
    if (received === undefined) return;
    s.known.set(received.message.id, received.message.buffer);
  }
}

/** The program-wide id of `buffer`, announced to every thread the first time it is asked for. */
export function bufferId(buffer: SharedArrayBuffer): number {
  const s = state();
  let id = s.ids.get(buffer);
  if (id !== undefined) return id;
  id = threadId * 2 ** 32 + ++s.next;
  s.ids.set(buffer, id);
  s.known.set(id, buffer);
  const port = channel(s);
  const announcement: Announcement = { id, buffer };
  port.postMessage(announcement);
  // A child starting now may have opened its channel after this post: wait until none is starting,
  // and post again (a duplicate costs nothing).
  const deadline = deadlineAfter(BOOT_WAIT_MS);
  for (let n = Atomics.load(s.booting, 0); n > 0; n = Atomics.load(s.booting, 0)) {
    const left = remaining(deadline);
    if (left <= 0) break;
    wait(s.booting, 0, n, left);
    if (Atomics.load(s.booting, 0) === 0) port.postMessage(announcement);
  }
  return id;
}

/** The buffer announced as `id`, read from the channel if this thread has not seen it yet. */
export function bufferById(id: number): SharedArrayBuffer {
  const s = state();
  let buffer = s.known.get(id);
  if (buffer !== undefined) return buffer;
  drain(s);
  buffer = s.known.get(id);
  if (buffer !== undefined) return buffer;
  if (!readsSynchronously()) throw notHeardOf(id);
  // Announced before the item was written, so this does not happen unless a child was killed while
  // starting and a sender stopped waiting for it: look a little longer, then say so.
  const deadline = deadlineAfter(FIND_WAIT_MS);
  while (remaining(deadline) > 0) {
    pause(1);
    drain(s);
    buffer = s.known.get(id);
    if (buffer !== undefined) return buffer;
  }
  throw neverAnnounced(id);
}

function neverAnnounced(id: number): Error {
  return misuse(
    Error,
    'ERR_MP_SHARED_BUFFER_LOST',
    `a shared object in this item names shared memory that was never announced to this thread (id ${id}). ` +
      'This happens only if its sender gave up waiting for a starting child; put shared objects after children start.',
  );
}

/**
 * Whether this thread hears of buffers only when its event loop runs (Bun, Deno: see the module
 * header). Where it does not (Node), `bufferById` finds every announced buffer at once.
 */
export function hearsLate(): boolean {
  return !readsSynchronously();
}

/** Of `ids`, those this thread has not heard of yet. */
export function unheardOf(ids: readonly number[]): number[] {
  const { known } = state();
  return ids.filter((id) => !known.has(id));
}

/**
 * The error of a blocking read that meets `id` where this thread hears late (`hearsLate`) and has not
 * heard of it yet: the news can only come through the event loop, which a blocking read does not run.
 */
export function notHeardOf(id: number): Error {
  return misuse(
    Error,
    'ERR_MP_SHARED_BUFFER_LOST',
    `a shared object in this item names shared memory (id ${id}) that this thread has not been told of yet, and ` +
      'this runtime cannot read that news synchronously (Bun\'s and Deno\'s BroadcastChannel): a blocking get() or ' +
      'recv() gives a shared object only in a thread whose event loop ran after it was put. Use getAsync() or ' +
      'recvAsync(), which wait for that news; or pass shared objects to a Process or a pool task as arguments; or ' +
      'run this program on Node.',
  );
}

/**
 * Settles once this thread has heard of every id of `ids` (see `unheardOf`), which its event loop
 * delivers: each was announced before the item naming it was written. Rejects with
 * `ERR_MP_SHARED_BUFFER_LOST` if one has not come within FIND_WAIT_MS (see `neverAnnounced`). Its timer
 * keeps the program alive meanwhile: the item is taken already, and only this wait can deliver it.
 */
export function heardOf(ids: readonly number[]): Promise<void> {
  const s = state();
  const port = channel(s);
  return new Promise((resolve, reject) => {
    let missing = ids;
    const check = (): void => {
      missing = missing.filter((id) => !s.known.has(id));
      if (missing.length > 0) return;
      stop();
      resolve();
    };
    // Records the announcement itself rather than rely on the order of the channel's listeners.
    const listener = (event: unknown): void => {
      learn(s, event);
      check();
    };
    const timer = setTimeout(() => {
      stop();
      reject(neverAnnounced(missing[0]!));
    }, FIND_WAIT_MS);
    const stop = (): void => {
      clearTimeout(timer);
      port.removeEventListener('message', listener);
    };
    port.addEventListener('message', listener);
    check();
  });
}

/**
 * In the parent, just before it starts a child: counts the child as starting and returns what the child
 * needs to know. Call `childGone` if the child ends (or fails to start) before it listens.
 */
export function childStarting(): BufferDirectory {
  const s = state();
  Atomics.add(s.booting, 0, 1);
  drain(s); // after counting: a buffer announced from now on is posted again once the child listens
  return { booting: s.booting, ack: new Int32Array(allocateShared(4, { startMethod: 'thread' })), known: new Map(s.known) };
}

function uncount(directory: BufferDirectory): void {
  if (Atomics.compareExchange(directory.ack, 0, 0, 1) !== 0) return;
  Atomics.sub(directory.booting, 0, 1);
  notify(directory.booting, 0);
}

/** In the parent: the child ended or failed to start; stop counting it if it never listened. */
export function childGone(directory: BufferDirectory): void {
  uncount(directory);
}

/** In the child, first thing: opens its channel, adopts what its parent knew, and stops being counted. */
export function childListening(directory: BufferDirectory | undefined): void {
  const s = state();
  channel(s);
  if (directory === undefined) return;
  s.booting = directory.booting;
  for (const [id, buffer] of directory.known) if (!s.known.has(id)) s.known.set(id, buffer);
  uncount(directory);
}
