/**
 * Parent side of the `'thread'` start method: a child is a `worker_threads.Worker`, its own V8 isolate
 * in this OS process, with true parallelism and the program's shared memory.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { ChildHandle, Movable, SpawnOptions, StartMessage } from '../child.js';
import { misuse } from '../../errors.js';
import { tsxApiUrl } from '../typescript-hooks.js';
import { childGone, childStarting } from './buffer-directory.js';
import { threadChildEntry, type ThreadStart } from './child-entry.js';
import { libraryEntry } from '../library-entry.js';
import { inheritableExecArgv, programInputOptions } from '../program-options.js';

// Node 20 does not apply a parent's `--import tsx` module hooks inside worker threads, so a program run
// with tsx would get workers that cannot import its .ts modules: the worker registers tsx's hooks itself
// (see ../typescript-hooks.ts).
const tsxApi = tsxApiUrl();
const libraryIsTypeScript = /\.[cm]?tsx?$/.test(fileURLToPath(threadChildEntry.module));

const library = libraryEntry(threadChildEntry.module);
const loadLibrary = library.format === 'cjs' ? `require(${JSON.stringify(fileURLToPath(library.url))})` : `await import(${JSON.stringify(library.url)})`;

// A tiny CommonJS entry (run with `eval`), so that the worker's first module can be TypeScript too.
// It listens to its parent at once and keeps what arrives until the role listens (child-entry.ts):
// Deno drops a message that reaches a port with no listener (Node and Bun keep it), and the role
// listens only once the library is loaded: a pool closed while its worker was starting never ended.
const entrySource = `
const { parentPort } = require('node:worker_threads');
const early = [];
const keep = (message) => { early.push(message); };
parentPort.on('message', keep);
globalThis[Symbol.for('multiprocessing.earlyMessages')] = () => {
  parentPort.off('message', keep);
  return early.splice(0);
};
const tsxApi = ${JSON.stringify(tsxApi)};
let registered;
if (tsxApi !== null) {
  globalThis[Symbol.for('multiprocessing.registerTsx')] = () =>
    (registered ??= import(tsxApi).then((api) => {
      api.register();
      globalThis[Symbol.for('multiprocessing.tsxRegistered')] = true;
    }));
}
(async () => {
  if (tsxApi !== null && ${JSON.stringify(libraryIsTypeScript)}) await globalThis[Symbol.for('multiprocessing.registerTsx')]();
  ${loadLibrary};
  // The role table of runtime/child.ts (perThread('roles')).
  await globalThis[Symbol.for('multiprocessing.roles')].get(${JSON.stringify(threadChildEntry.name)})();
})().catch((error) => { setImmediate(() => { throw error; }); });
`;

// A worker inherits its parent's options unless given its own: given them only when the program's
// describe its own input (see ../program-options.ts), since a worker parses what it is given again.
function inheritedExecArgv(): { execArgv?: string[] } {
  return programInputOptions() ? { execArgv: inheritableExecArgv() } : {};
}

/** A `Worker` seen through the seam: the same events, plus what a process would also have. */
class ThreadChild implements ChildHandle {
  readonly #worker: Worker;
  readonly ident: number;
  readonly pid = process.pid;

  constructor(worker: Worker) {
    this.#worker = worker;
    this.ident = worker.threadId;
  }

  postMessage(message: unknown, transfer?: readonly Movable[]): void {
    this.#worker.postMessage(message, transfer);
  }

  on(event: 'message' | 'error' | 'exit', listener: (value: never) => void): this {
    this.#worker.on(event, listener as (value: unknown) => void);
    return this;
  }

  ref(): void {
    this.#worker.ref();
  }

  unref(): void {
    this.#worker.unref();
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  // A thread cannot be asked to stop: terminating it already runs none of its code.
  kill(): Promise<void> {
    return this.terminate();
  }
}

// Bun's and Deno's workers accept resourceLimits and ignore them (measured: Bun 1.4.5, Deno 2.9.6): a
// task that should have lost its worker at the limit would take the whole program's memory instead.
const enforcesResourceLimits = process.versions['bun'] === undefined && process.versions['deno'] === undefined;

/** Starts a child in a new thread of this process (the `'thread'` start method's `Starter`). */
export function startThread(message: StartMessage, options: SpawnOptions): ChildHandle {
  if (options.resourceLimits && !enforcesResourceLimits) {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      `resourceLimits cannot be honoured here: ${process.versions['bun'] === undefined ? 'Deno' : 'Bun'}'s worker threads ignore them. ` +
        'Leave the option out, or run the program on Node, whose workers enforce them',
    );
  }
  const buffers = childStarting();
  try {
    const worker = new Worker(entrySource, {
      eval: true,
      workerData: { ...message, buffers } satisfies ThreadStart,
      name: options.name,
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.argv ? { argv: [...options.argv] } : {}),
      ...(options.execArgv ? { execArgv: [...options.execArgv] } : inheritedExecArgv()),
    });
    worker.once('exit', () => childGone(buffers));
    return new ThreadChild(worker);
  } catch (error) {
    childGone(buffers);
    if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_INVALID_EXEC_ARGV') throw invalidExecArgv(error as Error);
    throw error;
  }
}

// Node checks a thread's execArgv only as the thread starts, and its error names no fix.
function invalidExecArgv(cause: Error): TypeError {
  // Node's message: "Initiated Worker with invalid execArgv flags: --a, --b" (a flag may hold a colon).
  const flags = /flags:\s*(.*)$/s.exec(cause.message)?.[1] ?? cause.message;
  return misuse(
    TypeError,
    'ERR_MP_INVALID_ARG',
    `execArgv has options a worker thread cannot take (${flags}): a thread takes Node's per-thread options, such as ` +
      '--conditions or --enable-source-maps; V8 and process-wide options are the whole program\'s (give memory limits ' +
      'as resourceLimits, such as { maxOldGenerationSizeMb: 64 })',
    { cause },
  );
}
