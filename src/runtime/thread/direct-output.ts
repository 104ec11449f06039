/**
 * Child side of the `'thread'` start method: a worker thread writes its `process.stdout` and
 * `process.stderr` straight to the process's file descriptors 1 and 2, as a Python child process (or a
 * `'process'` child here) writes to the descriptors it inherited.
 *
 * Node's own worker output is a message to the main thread, printed by the main thread's event loop. So
 * while the main thread waited in a blocking call (`queue.get()`, `lock.acquire()`, `process.join()`
 * of a synchronous wait), a child's output, and the traceback of a child that failed, waited too: a
 * parent blocked forever on a queue whose child had crashed printed nothing at all; and what was still on
 * its way when the main thread called `process.exit()` was lost.
 *
 * Bun's workers print through the main thread too (checked: the same output was lost at process.exit
 * there); Deno's print from the worker itself already.
 */
import { writeSync } from 'node:fs';
import { pause } from '../futex.js';

type Chunk = string | Uint8Array;
type Callback = (error?: Error | null) => void;

/** Makes this thread's `process.stdout` and `process.stderr` write straight to fds 1 and 2 (Node and Bun). */
export function writeOutputDirectly(): void {
  if ('Deno' in globalThis) return;
  redirect(process.stdout, 1);
  redirect(process.stderr, 2);
}

function redirect(stream: NodeJS.WriteStream, fd: number): void {
  const original = stream.write.bind(stream) as (chunk: Chunk, encoding?: BufferEncoding, callback?: Callback) => boolean;
  const direct = (chunk: Chunk, encodingOrCallback?: BufferEncoding | Callback, maybeCallback?: Callback): boolean => {
    const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : undefined;
    const callback = typeof encodingOrCallback === 'function' ? encodingOrCallback : maybeCallback;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk;
    const written = writeAll(fd, bytes);
    if (written < bytes.length) {
      // The descriptor cannot take it (closed, a pipe whose reader left): Node's own way reports that
      // as its stream does.
      return original(bytes.subarray(written), undefined, callback);
    }
    if (callback !== undefined) process.nextTick(callback);
    return true;
  };
  stream.write = direct as typeof stream.write;
}

// Writes what it can of `bytes`; returns how many bytes were written. A descriptor in non-blocking mode
// that is full is waited for (a terminal or a pipe being read slowly), as a blocking write would.
function writeAll(fd: number, bytes: Uint8Array): number {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return at;
      pause(1);
    }
  }
  return at;
}
