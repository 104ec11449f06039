/**
 * Parent side of the start-method seam: starts a child that runs `bootstrap` with one start message.
 *
 * `'thread'` starts a `worker_threads.Worker` (its own V8 isolate, true parallelism, shared memory).
 * A `'process'` start method would add a second starter here with the same shape; nothing else in
 * the library starts workers.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildIdentity } from './identity.js';
import { enterChild, markDead } from './liveness.js';
import { uncloneableError } from '../transport/payload.js';
import { childGone, childStarting, type BufferDirectory } from '../transport/shared-buffers.js';

/** The start message every child receives as `workerData`. */
export interface StartMessage<Role extends string = string, Payload = unknown> {
  readonly role: Role;
  readonly identity: ChildIdentity;
  readonly payload: Payload;
  /** Set by `spawnThread`: the shared memory that crossed queues before this child listened. */
  readonly buffers?: BufferDirectory;
}

export interface SpawnOptions {
  /** Shown in debuggers and heap snapshots. */
  readonly name: string;
  readonly resourceLimits?: ResourceLimits;
  /** What to call the payload in an error when it cannot be cloned (`'args'`). */
  readonly payloadLabel: string;
  /** The value to search for the uncloneable part, as the user passed it. */
  readonly payloadForErrors: unknown;
}

// The bootstrap beside this file, in the same flavour: bootstrap.ts under tsx, bootstrap.js when built.
const bootstrapUrl = new URL(`./bootstrap${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

// Node 20 does not apply a parent's `--import tsx` module hooks inside worker threads, so a program run
// with tsx would get workers that cannot import its .ts modules. When the parent runs under tsx, the
// worker can register tsx's hooks itself: at once when this library itself runs from its TypeScript
// sources, else only before it imports a module that may need them (see typescript-hooks.ts).
function tsxApiUrl(): string | null {
  if (!process.execArgv.some((arg) => /(^|[\\/@])tsx([\\/]|$)/.test(arg))) return null;
  for (const base of [pathToFileURL(`${process.cwd()}/`).href, import.meta.url]) {
    try {
      // The ESM entry of tsx's API (its CommonJS one cannot register hooks from a worker).
      const manifestPath = createRequire(base).resolve('tsx/package.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as TsxManifest;
      const target = manifest.exports?.['./esm/api']?.import;
      const file = typeof target === 'string' ? target : target?.default;
      if (file !== undefined) return pathToFileURL(join(dirname(manifestPath), file)).href;
    } catch {
      // not resolvable from here: try the next base
    }
  }
  return null;
}

interface TsxManifest {
  exports?: Record<string, { import?: string | { default?: string } } | undefined>;
}
const tsxApi = tsxApiUrl();
const bootstrapIsTypeScript = /\.[cm]?tsx?$/.test(fileURLToPath(bootstrapUrl));

// A tiny CommonJS entry (run with `eval`), so that the worker's first module can be TypeScript too.
const entrySource = `
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
  if (tsxApi !== null && ${JSON.stringify(bootstrapIsTypeScript)}) await globalThis[Symbol.for('multiprocessing.registerTsx')]();
  await import(${JSON.stringify(bootstrapUrl)});
})().catch((error) => { setImmediate(() => { throw error; }); });
`;

/**
 * Starts a child in a new thread. Throws a `TypeError` naming the path if the payload cannot be cloned.
 *
 * The child gets a seat in the table of live processes, and is marked dead there when this thread sees
 * it exit: the listener is added before the caller's, so whoever reacts to the exit (a `join()`, a
 * pool replacing its worker) already finds the locks it held recoverable.
 */
export function spawnThread(message: StartMessage, options: SpawnOptions): Worker {
  const seat = enterChild(options.name);
  const buffers = childStarting();
  try {
    const identity = seat === undefined ? message.identity : { ...message.identity, seat };
    const worker = new Worker(entrySource, {
      eval: true,
      workerData: { ...message, identity, buffers } satisfies StartMessage,
      name: options.name,
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    if (seat !== undefined) worker.once('exit', () => markDead(seat.token));
    worker.once('exit', () => childGone(buffers));
    return worker;
  } catch (error) {
    if (seat !== undefined) markDead(seat.token);
    childGone(buffers);
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw uncloneableError(options.payloadForErrors, options.payloadLabel, error);
    }
    throw error;
  }
}
