/**
 * `Pipe()` and `Connection`: Python's `multiprocessing.Pipe`, as two one-way rings in shared memory.
 *
 * Each end keeps a small table of its holders: the owner token of each process holding handles to it
 * (`runtime/liveness.ts`) and how many, so closing the parent's copy of the child's end, as Python
 * programs often do, does not close the child's copy. An end is closed once no live process holds an
 * open handle to it: every handle was closed (a worker's copies close when it exits normally), or their
 * holders died (a worker terminated runs no code on the way out, so a count only it could lower would
 * never reach 0). The other end's `recv` then drains what is left and throws `EOFError`.
 */
import { EOFError, BufferTooShort, misuse } from '../errors.js';
import { parseAbort, toWaitTimeout, type AbortOptions } from '../sync/wait-options.js';
import { SLICE_MS, selfToken } from '../sync/mutex.js';
import { canWatch, isAlive, packingHolder } from '../runtime/liveness.js';
import { isChild } from '../runtime/identity.js';
import { reduce, registerShareable, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { BYTES, discardEncoded, encode } from './codec.js';
import { decodeTaken, outOfMemory, takeAsync } from './queue.js';
import { OK, OUT_OF_MEMORY, Ring, USER, USER_WORDS, type Peer, type RingState } from './ring.js';

interface ConnectionState {
  readonly read: RingState | null;
  readonly write: RingState | null;
  /** The control words holding both ends' holder tables (from `USER` on). */
  readonly refs: SharedArrayBuffer;
  readonly end: 0 | 1;
  /** The process whose table entry counts this copy until it is revived. */
  readonly from: number;
}

// Each end's holder table: HOLDERS entries of [token, open handles], tokens claimed in order and kept
// (a count may drop to 0), so a scan stops at the first free entry. Past that many holder processes,
// handles are counted in the last entry, UNTRACKED, whose holders are assumed alive.
const END_WORDS = USER_WORDS / 2;
const HOLDERS = END_WORDS / 2 - 1;
const UNTRACKED = -1;

function entryOf(refs: Int32Array, end: 0 | 1, token: number): number {
  const base = USER + end * END_WORDS;
  for (let i = 0; i < HOLDERS; i++) {
    const at = base + 2 * i;
    const current = Atomics.load(refs, at);
    if (current === token) return at;
    // A free entry, or one whose holder died: claim it.
    if ((current === 0 || !isAlive(current)) && Atomics.compareExchange(refs, at, current, token) === current) {
      Atomics.store(refs, at + 1, 0);
      return at;
    }
  }
  const last = base + 2 * HOLDERS;
  Atomics.store(refs, last, UNTRACKED);
  return last;
}

/** One more open handle of `end`, held by `token`'s process. */
function hold(refs: Int32Array, end: 0 | 1, token: number): void {
  Atomics.add(refs, entryOf(refs, end, token) + 1, 1);
}

/** One handle of `end` held by `token`'s process closed; true if no live process holds one now. */
function letGo(refs: Int32Array, end: 0 | 1, token: number): boolean {
  const base = USER + end * END_WORDS;
  for (let i = 0; i <= HOLDERS; i++) {
    const at = base + 2 * i;
    const current = Atomics.load(refs, at);
    if (current === token || (i === HOLDERS && current === UNTRACKED)) {
      if (Atomics.sub(refs, at + 1, 1) <= 0) Atomics.store(refs, at + 1, 0);
      break;
    }
    if (current === 0) break;
  }
  return !isHeld(refs, end);
}

/** Whether some live process holds an open handle of `end`. */
function isHeld(refs: Int32Array, end: 0 | 1): boolean {
  const base = USER + end * END_WORDS;
  for (let i = 0; i < HOLDERS; i++) {
    const token = Atomics.load(refs, base + 2 * i);
    if (token === 0) break;
    if (Atomics.load(refs, base + 2 * i + 1) > 0 && isAlive(token)) return true;
  }
  return Atomics.load(refs, base + 2 * HOLDERS + 1) > 0;
}

/** How long a reader may sleep before it checks `end` again: a slice while another process that may die holds it. */
function watchSlice(refs: Int32Array, end: 0 | 1): number {
  const base = USER + end * END_WORDS;
  for (let i = 0; i < HOLDERS; i++) {
    const token = Atomics.load(refs, base + 2 * i);
    if (token === 0) break;
    if (token !== selfToken && Atomics.load(refs, base + 2 * i + 1) > 0 && canWatch(token)) return SLICE_MS;
  }
  return Infinity;
}

const reviving = new ReviveSlot<ConnectionState>();

function brokenPipe(): Error {
  return misuse(Error, 'ERR_MP_BROKEN_PIPE', 'Broken pipe: the other end is closed');
}

function invalid(message: string): RangeError & { code: string } {
  return misuse(RangeError, 'ERR_MP_INVALID_ARG', message);
}

function asBytes(buffer: ArrayBufferView | ArrayBufferLike): Uint8Array {
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return new Uint8Array(buffer);
}

/**
 * One end of a pipe (Python's `multiprocessing.connection.Connection`). Made by `Pipe()`; it crosses
 * live as a `Process` or `Pool` argument, in a queue item, a pipe message or a task's result, and each
 * copy that arrives counts as one more handle of its end (close it when done, as in Python).
 *
 * The other end counts as closed once no live process holds an open handle to it: every handle was
 * closed, or the processes holding them ended, however they ended (terminated and killed included;
 * the parent sees the exit on its event loop). `recv` then drains what is left and throws `EOFError`.
 * A handle still on its way to a process counts as its sender's until it arrives (through a queue or
 * a pipe), or as the child's from the start (a `Process`'s arguments, so a child killed before it took
 * its copy lets it go). Each end
 * tracks 15 holder processes at a time; handles of further ones count as held until they are closed.
 *
 * @example
 * ```ts
 * const [parentConn, childConn] = Pipe();
 * const p = new Process({ target: f, args: [childConn] }); // f(conn) { conn.send([42, null, 'hello']); conn.close(); }
 * p.start();
 * console.log(parentConn.recv()); // [ 42, null, 'hello' ]
 * await p.join();
 * ```
 */
export class Connection<T = unknown> implements Shareable, Disposable {
  private readonly reader: Ring | null;
  private readonly writer: Ring | null;
  private readonly refs: Int32Array;
  private readonly end: 0 | 1;
  private isClosed = false;
  private readonly peerClosed = (): boolean => !isHeld(this.refs, this.end === 0 ? 1 : 0);
  private readonly peer: Peer = { closed: this.peerClosed, slice: () => watchSlice(this.refs, this.end === 0 ? 1 : 0) };

  /** @internal Use `Pipe()`. */
  constructor() {
    const state = reviving.take();
    if (state === undefined) {
      throw misuse(TypeError, 'ERR_MP_INVALID_ARG', 'Connections are made by Pipe(): const [a, b] = Pipe()');
    }
    this.reader = state.read ? new Ring(state.read) : null;
    this.writer = state.write ? new Ring(state.write) : null;
    this.refs = new Int32Array(state.refs);
    this.end = state.end;
  }

  /** @internal */
  static fromState<T>(state: ConnectionState): Connection<T> {
    return reviving.fill(state, () => new Connection<T>());
  }

  /** True once `close()` was called on this handle. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True if this end can receive. */
  get readable(): boolean {
    return this.reader !== null;
  }

  /** True if this end can send. */
  get writable(): boolean {
    return this.writer !== null;
  }

  /**
   * Sends `obj` (any structured-clonable value, shared objects included) to the other end. Waits only
   * while the pipe holds its byte limit (1 GiB) unread, as Python's `send` waits on a full OS pipe;
   * throws `Broken pipe` if the other end closes meanwhile. Nothing is ever dropped.
   */
  send(obj: T): void {
    const writer = this.checkWritable();
    const { bytes, length, tag } = encode(obj, 'obj');
    this.write(writer, bytes, length, tag);
  }

  private write(writer: Ring, bytes: Uint8Array, length: number, tag: number): void {
    const status = writer.put(bytes, length, tag, Infinity, this.peerClosed);
    if (status === OK) return;
    discardEncoded(tag, bytes, length);
    if (status === OUT_OF_MEMORY) throw outOfMemory(length);
    throw brokenPipe();
  }

  /**
   * Receives the next object, blocking until one arrives. Throws `EOFError` once the other end is
   * closed and nothing is left.
   */
  recv(): T {
    const reader = this.checkReadable();
    if (reader.take(Infinity, this.peer) !== OK) throw this.eof();
    return decodeTaken<T>(reader);
  }

  /**
   * `recv` that waits without blocking the event loop. An abort of `options.signal` rejects with
   * `signal.reason` and receives nothing (for a deadline, use `AbortSignal.timeout(ms)`, or `poll`).
   *
   * @example
   * ```ts
   * const msg = await conn.recvAsync({ signal: AbortSignal.timeout(1000) });
   * ```
   */
  async recvAsync(options?: AbortOptions): Promise<T> {
    const signal = parseAbort(options);
    const reader = this.checkReadable();
    const [status, value] = await takeAsync<T>(reader, Infinity, signal, this.peer);
    if (status !== OK) throw this.eof();
    return value as T;
  }

  /**
   * Whether there is something to receive (or the other end is closed, so `recv` would not block),
   * waiting up to `timeout` ms. As in Python, `poll()` returns at once; `poll(null)` or
   * `poll(Infinity)` waits forever; a negative timeout counts as 0.
   */
  poll(timeout: number | null = 0): boolean {
    const reader = this.checkReadable();
    return reader.poll(toWaitTimeout(timeout), this.peer) || this.peerClosed();
  }

  /**
   * Sends `size` bytes of `buffer` from `offset` as one message (Python's `send_bytes`).
   * Python's checks and messages: a negative offset, an offset past the end, a negative size or one
   * past the end throws a `RangeError`.
   */
  sendBytes(buffer: ArrayBufferView | ArrayBufferLike, offset = 0, size?: number): void {
    const writer = this.checkWritable();
    const bytes = asBytes(buffer);
    const n = bytes.byteLength;
    if (offset < 0) throw invalid('offset is negative');
    if (n < offset) throw invalid('buffer length < offset');
    if (size === undefined) size = n - offset;
    else if (size < 0) throw invalid('size is negative');
    else if (offset + size > n) throw invalid('buffer length < offset + size');
    this.write(writer, bytes.subarray(offset, offset + size), size, BYTES);
  }

  /**
   * Receives one message as bytes, blocking until one arrives (Python's `recv_bytes`). A message longer
   * than `maxlength` closes this handle and throws `bad message length`, as in Python.
   */
  recvBytes(maxlength?: number): Uint8Array {
    if (maxlength !== undefined && maxlength < 0) throw invalid('negative maxlength');
    const reader = this.checkReadable();
    if (reader.take(Infinity, this.peer) !== OK) throw this.eof();
    if (maxlength !== undefined && reader.lastLength > maxlength) {
      this.close();
      throw misuse(Error, 'ERR_MP_BAD_MESSAGE_LENGTH', 'bad message length');
    }
    return reader.scratch.slice(0, reader.lastLength);
  }

  /** `recvBytes` that waits without blocking the event loop; `options.signal` as for `recvAsync`. */
  async recvBytesAsync(options?: AbortOptions): Promise<Uint8Array> {
    const signal = parseAbort(options);
    const reader = this.checkReadable();
    let bytes = new Uint8Array(0);
    const status = await reader.takeAsync(
      Infinity,
      this.peer,
      () => {
        bytes = reader.scratch.slice(0, reader.lastLength);
      },
      signal,
    );
    if (status !== OK) throw this.eof();
    return bytes;
  }

  /**
   * Receives one message into `buffer` at byte `offset` and returns its length (Python's
   * `recv_bytes_into`). If it does not fit, throws `BufferTooShort` with the message in `args[0]`.
   */
  recvBytesInto(buffer: ArrayBufferView | ArrayBufferLike, offset = 0): number {
    const target = asBytes(buffer);
    if (offset < 0) throw invalid('negative offset');
    if (offset > target.byteLength) throw invalid('offset too large');
    const reader = this.checkReadable();
    if (reader.take(Infinity, this.peer) !== OK) throw this.eof();
    const length = reader.lastLength;
    const message = reader.scratch.subarray(0, length);
    if (target.byteLength - offset < length) {
      throw new BufferTooShort('buffer is too short for the message', message.slice());
    }
    target.set(message, offset);
    return length;
  }

  /** Closes this handle. Once every handle of this end is closed, the other end gets `EOFError`. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (letGo(this.refs, this.end, selfToken)) this.wakePeers();
  }

  /** @internal Wakes whoever waits on this end's holders (the other end's readers and writers) to look again. */
  wakePeers(): void {
    this.reader?.wakeAll();
    this.writer?.wakeAll();
  }

  /** `using conn = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  [reduce](): Reduced {
    if (this.isClosed) throw misuse(Error, 'ERR_MP_HANDLE_CLOSED', 'handle is closed');
    // The copy about to be made owns one handle, counted as this process's until it is revived (or as
    // the child's it starts, which may die before it revives it).
    const from = packingHolder();
    hold(this.refs, this.end, from);
    const state: ConnectionState = {
      read: this.reader?.state ?? null,
      write: this.writer?.state ?? null,
      refs: this.refs.buffer as SharedArrayBuffer,
      end: this.end,
      from,
    };
    return { kind: 'Connection', state };
  }

  private checkReadable(): Ring {
    if (this.isClosed) throw misuse(Error, 'ERR_MP_HANDLE_CLOSED', 'handle is closed');
    if (this.reader === null) throw misuse(Error, 'ERR_MP_WRITE_ONLY', 'connection is write-only');
    return this.reader;
  }

  private checkWritable(): Ring {
    if (this.isClosed) throw misuse(Error, 'ERR_MP_HANDLE_CLOSED', 'handle is closed');
    if (this.writer === null) throw misuse(Error, 'ERR_MP_READ_ONLY', 'connection is read-only');
    if (this.peerClosed()) throw brokenPipe();
    return this.writer;
  }

  private eof(): EOFError {
    return new EOFError('the other end of the pipe is closed and nothing is left to receive');
  }
}

/**
 * Makes a pipe and returns its two ends (Python's `multiprocessing.Pipe`). With `duplex = true` both
 * ends send and receive; with `duplex = false` the first only receives and the second only sends.
 *
 * @example
 * ```ts
 * const [a, b] = Pipe();
 * a.send({ hello: 'world' });
 * b.recv(); // { hello: 'world' }
 * ```
 */
export function Pipe<T = unknown>(duplex = true): [Connection<T>, Connection<T>] {
  const forward = Ring.create(0); // written by end 1, read by end 0
  const backward = duplex ? Ring.create(0) : null; // written by end 0, read by end 1
  const refs = forward.ctrl;
  hold(refs, 0, selfToken);
  hold(refs, 1, selfToken);
  const shared = refs.buffer as SharedArrayBuffer;
  return [
    Connection.fromState<T>({ read: forward.state, write: backward?.state ?? null, refs: shared, end: 0, from: selfToken }),
    Connection.fromState<T>({ read: backward?.state ?? null, write: forward.state, refs: shared, end: 1, from: selfToken }),
  ];
}

// A copy revived in a worker closes itself when the worker ends, as a child's file descriptors close
// when it exits, so the other end sees EOF even if the child never called close().
const revivedHere = new Set<Connection>();
let closeAtExit = false;

registerShareable('Connection', (state) => {
  const { refs, end, from } = state as ConnectionState;
  const conn = Connection.fromState(state as ConnectionState);
  if (from !== selfToken) {
    // The handle passes from the sender's count to this process's. A reader of the other end may sleep
    // with no slice, the sender being itself: wake it, so it sees a holder that may die.
    const words = new Int32Array(refs);
    hold(words, end, selfToken);
    letGo(words, end, from);
    conn.wakePeers();
  }
  if (isChild()) {
    revivedHere.add(conn);
    if (!closeAtExit) {
      closeAtExit = true;
      process.once('exit', () => {
        for (const c of revivedHere) c.close();
      });
    }
  }
  return conn;
}, import.meta.url, { carrier: true });
