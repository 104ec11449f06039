/**
 * Child side of the `'thread'` start method: the first module a worker thread imports. It opens the
 * thread's way to the parent (`parentPort`, `workerData`) and hands it to the bootstrap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChildPort, StartMessage } from '../child.js';
import { runChild } from '../bootstrap.js';
import { childListening, type BufferDirectory } from './buffer-directory.js';

/** The start message as a thread receives it: with the shared memory that crossed queues before it listened. */
export interface ThreadStart extends StartMessage {
  readonly buffers: BufferDirectory;
}

const start = workerData as ThreadStart;
childListening(start.buffers);
const port = parentPort!;
const toParent: ChildPort = {
  postMessage: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (listener) => {
    port.on('message', listener as (message: unknown) => void);
  },
};
runChild(start, toParent);
