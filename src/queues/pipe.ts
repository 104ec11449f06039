/**
 * `Pipe()` and `Connection`: Python's `multiprocessing.Pipe`, as two one-way rings in shared memory.
 *
 * Each end counts its open handles (the original plus one per copy sent to a worker), so closing the
 * parent's copy of the child's end, as Python programs often do, does not close the child's copy. When
 * every handle of an end is closed (a worker's copies close when the worker exits), the other end's
 * `recv` drains what is left and then throws `EOFError`.
 */
import { isMainThread } from 'node:worker_threads';
import { EOFError, BufferTooShort, misuse } from '../errors.js';
import { parseAbort, toWaitTimeout, type AbortOptions } from '../sync/futex.js';
import { reduce, registerShareable, type Reduced, type Shareable } from '../transport/shareable.js';
import { BYTES, discardEncoded, encode } from './codec.js';
import { decodeTaken, outOfMemory, takeAsync } from './queue.js';
import { OK, OUT_OF_MEMORY, Ring, USER, type RingState } from './ring.js';

interface ConnectionState {
  readonly read: RingState | null;
  readonly write: RingState | null;
  /** The control words holding both ends' handle counts (at `USER` and `USER + 1`). */
  readonly refs: SharedArrayBuffer;
  readonly end: 0 | 1;
}

let reviving: ConnectionState | undefined;

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
  private readonly peerClosed = (): boolean => Atomics.load(this.refs, USER + 1 - this.end) === 0;

  /** @internal Use `Pipe()`. */
  constructor() {
    const state = reviving;
    reviving = undefined;
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
    reviving = state;
    return new Connection<T>();
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
    if (reader.take(Infinity, this.peerClosed) !== OK) throw this.eof();
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
    const [status, value] = await takeAsync<T>(reader, Infinity, signal, this.peerClosed);
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
    return reader.poll(toWaitTimeout(timeout), this.peerClosed) || this.peerClosed();
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
    if (reader.take(Infinity, this.peerClosed) !== OK) throw this.eof();
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
      this.peerClosed,
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
    if (reader.take(Infinity, this.peerClosed) !== OK) throw this.eof();
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
    if (Atomics.sub(this.refs, USER + this.end, 1) === 1) {
      this.reader?.wakeAll();
      this.writer?.wakeAll();
    }
  }

  /** `using conn = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  [reduce](): Reduced {
    if (this.isClosed) throw misuse(Error, 'ERR_MP_HANDLE_CLOSED', 'handle is closed');
    Atomics.add(this.refs, USER + this.end, 1); // the copy about to be made owns one handle
    const state: ConnectionState = {
      read: this.reader?.state ?? null,
      write: this.writer?.state ?? null,
      refs: this.refs.buffer as SharedArrayBuffer,
      end: this.end,
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
  refs[USER] = 1;
  refs[USER + 1] = 1;
  const shared = refs.buffer as SharedArrayBuffer;
  return [
    Connection.fromState<T>({ read: forward.state, write: backward?.state ?? null, refs: shared, end: 0 }),
    Connection.fromState<T>({ read: backward?.state ?? null, write: forward.state, refs: shared, end: 1 }),
  ];
}

// A copy revived in a worker closes itself when the worker ends, as a child's file descriptors close
// when it exits, so the other end sees EOF even if the child never called close().
const revivedHere = new Set<Connection>();
let closeAtExit = false;

registerShareable('Connection', (state) => {
  const conn = Connection.fromState(state as ConnectionState);
  if (!isMainThread) {
    revivedHere.add(conn);
    if (!closeAtExit) {
      closeAtExit = true;
      process.once('exit', () => {
        for (const c of revivedHere) c.close();
      });
    }
  }
  return conn;
}, import.meta.url);
