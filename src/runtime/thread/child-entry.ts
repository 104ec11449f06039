/**
 * Child side of the `'thread'` start method: what a worker thread runs first. It opens the thread's
 * way to the parent (`parentPort`, `workerData`) and hands it to the bootstrap.
 *
 * Loading this module does nothing but register that step (it is part of the library's bundle, which
 * every thread loads): the worker's entry imports it, then calls the registered step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { defineRole, type ChildPort, type StartMessage } from '../child.js';
import { runChild } from '../bootstrap.js';
import { childListening, type BufferDirectory } from './buffer-directory.js';
import { writeOutputDirectly } from './direct-output.js';

/** The start message as a thread receives it: with the shared memory that crossed queues before it listened. */
export interface ThreadStart extends StartMessage {
  readonly buffers: BufferDirectory;
}

// What the worker's entry kept of the parent's messages until now; it stops keeping them (starter.ts).
function takeEarlyMessages(): unknown[] {
  const take = (globalThis as Record<symbol, (() => unknown[]) | undefined>)[Symbol.for('multiprocessing.earlyMessages')];
  return take === undefined ? [] : take();
}

async function startThreadChild(): Promise<void> {
  const start = workerData as ThreadStart;
  writeOutputDirectly();
  childListening(start.buffers);
  const port = parentPort!;
  let listening = false;
  const toParent: ChildPort = {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => {
      listening = true;
      const early = takeEarlyMessages();
      port.on('message', listener as (message: unknown) => void);
      for (const message of early) (listener as (message: unknown) => void)(message);
    },
  };
  // A role that never listens must not be kept alive by the entry's listener once it has run.
  await runChild(start, toParent);
  if (!listening) takeEarlyMessages();
}

/** What a worker thread's entry imports, then runs by name (see `starter.ts`). */
export const threadChildEntry = defineRole('thread-child', startThreadChild, import.meta.url);
