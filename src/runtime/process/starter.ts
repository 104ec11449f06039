/**
 * Parent side of the `'process'` start method: a child is an OS process made by `child_process.fork`,
 * for what only processes give (a crash, `process.abort()`, a memory limit or a signal ends one child,
 * not the program; a native addon that is not thread-safe runs alone).
 *
 * - The child runs `child-entry.cjs`, which loads this very library (the bundle, or the sources under
 *   tsx) and runs the `'process-child'` role (`child-port.ts`); the start message is the first message
 *   on the IPC channel. Messages both ways are encoded by `message-codec.ts`, so shared memory crosses
 *   through one seam (`shared-buffer-codec.ts`).
 * - Exit codes are Python's: a child ended by a signal exits with minus its number (SIGTERM -15,
 *   SIGKILL -9, SIGABRT -6). The exit is reported once the IPC channel has also closed, so every message
 *   the child sent before it exited (a pool worker's last results) is delivered before it.
 * - A child whose channel closes (its parent died, even by SIGKILL) exits (`child-entry.cjs`): no
 *   child outlives its parent, as no thread can.
 * - Memory limits (`resourceLimits`) become V8 flags of the child; `codeRangeSizeMb` has no flag, so it
 *   is refused rather than silently not applied.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildHandle, Movable, ResourceLimits, SpawnOptions, StartMessage } from '../child.js';
import { encodeMessage, type WireMessage } from './message-codec.js';
import {
  CHANNEL_ENV,
  CHILD_CHANNEL_FD,
  decodeFromChannel,
  encodeForChannel,
  prepareChildChannel,
  sendSegmentsOf,
  type SegmentChannel,
} from './channel.js';
import { loadNative } from './native.js';
import { misuse } from '../../errors.js';
import { processChildRole } from './child-port.js';
import { libraryEntry } from '../library-entry.js';
import { inheritableExecArgv } from '../program-options.js';
import { isTsxOption, tsxApiUrl } from '../typescript-hooks.js';

// Beside the bundle in the build (scripts/build.mjs), beside this file in the sources.
const fromSources = /\.[cm]?tsx?$/.test(fileURLToPath(import.meta.url));
// A child given Node options without the parent's tsx registers it itself (see ../typescript-hooks.ts).
const tsxApi = tsxApiUrl();
const entryFile = fileURLToPath(new URL(fromSources ? './child-entry.cjs' : './process-child.cjs', import.meta.url));

// After the child has exited, how long its IPC channel may stay open (a grandchild that inherited it)
// before the exit is reported anyway.
const CHANNEL_CLOSE_GRACE_MS = 1000;

// Loaded at the first fork, not at import: node:child_process (with net and dgram under it) costs every
// thread that imports the library a few milliseconds, and most programs never fork.
let childProcessModule: typeof import('node:child_process') | undefined;
const childProcess = (): typeof import('node:child_process') =>
  (childProcessModule ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process'));

/** A forked child seen through the seam: the events of a `Worker`, with Python's exit codes. */
class ProcessChild implements ChildHandle {
  readonly #child: ChildProcess;
  readonly #channel: SegmentChannel | undefined;
  readonly #events = new EventEmitter();
  readonly ident: number;
  readonly pid: number;
  #code: number | undefined;
  #connected = true;
  #exited: Promise<void>;

  constructor(child: ChildProcess, channel: SegmentChannel | undefined) {
    this.#child = child;
    this.#channel = channel;
    this.pid = child.pid ?? 0;
    this.ident = this.pid;
    this.#events.on('error', () => {}); // an 'error' nobody listens to must not throw here
    // Explicit: from now on, listeners do not ref the channel (`ref()`/`unref()` decide). Bun's parent-side
    // channel has no ref/unref (1.4.5); there `child.ref()`/`unref()` hold or release the IPC too (measured).
    child.channel?.ref?.();
    this.#exited = new Promise((resolve) => this.#events.once('exit', () => resolve()));
    this.#events.once('exit', () => channel?.close());
    child.on('message', (wire: WireMessage) => {
      let message: unknown;
      try {
        message = decodeFromChannel(channel, wire);
      } catch (error) {
        this.#events.emit('error', error);
        return;
      }
      this.#events.emit('message', message);
    });
    child.on('error', (error) => this.#events.emit('error', error));
    child.once('disconnect', () => {
      this.#connected = false;
      this.#maybeExit();
    });
    child.once('exit', (code, signal) => {
      this.#code = signal === null ? (code ?? 1) : -(constants.signals[signal] ?? 1);
      if (this.#connected) {
        const timer = setTimeout(() => child.connected && child.disconnect(), CHANNEL_CLOSE_GRACE_MS);
        this.#events.once('exit', () => clearTimeout(timer));
      }
      this.#maybeExit();
    });
  }

  #maybeExit(): void {
    if (this.#code !== undefined && !this.#connected) this.#events.emit('exit', this.#code);
  }

  postMessage(message: unknown, transfer?: readonly Movable[]): void {
    if (this.#child.connected) this.#child.send(encodeForChannel(this.#channel, message, transfer));
  }

  on(event: 'message' | 'error' | 'exit', listener: (value: never) => void): this {
    this.#events.on(event, listener as (value: unknown) => void);
    return this;
  }

  ref(): void {
    this.#child.ref();
    this.#child.channel?.ref?.();
  }

  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref?.();
  }

  terminate(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    return this.#exited;
  }
}

/** V8's flags for a child's memory limits (a thread's `resourceLimits`). */
export function resourceLimitFlags(limits: ResourceLimits | undefined): string[] {
  if (limits === undefined) return [];
  const flags: string[] = [];
  if (limits.maxOldGenerationSizeMb !== undefined) flags.push(`--max-old-space-size=${Math.max(1, Math.floor(limits.maxOldGenerationSizeMb))}`);
  // V8's young generation is three semi-spaces (two, plus as much for large objects).
  if (limits.maxYoungGenerationSizeMb !== undefined) flags.push(`--max-semi-space-size=${Math.max(1, Math.floor(limits.maxYoungGenerationSizeMb / 3))}`);
  // --stack-size is in KiB.
  if (limits.stackSizeMb !== undefined) flags.push(`--stack-size=${Math.max(1, Math.floor(limits.stackSizeMb * 1024))}`);
  return flags;
}

// Bun runs JavaScriptCore, whose children take no V8 memory flags (a child given --max-old-space-size
// grows past it: measured, Bun 1.4.5): a task that should lose its child at the limit would not.
const enforcesResourceLimits = process.versions['bun'] === undefined;

/** Starts a child in a new OS process (the `'process'` start method's `Starter`). */
export function startProcess(message: StartMessage, options: SpawnOptions): ChildHandle {
  if (options.resourceLimits && !enforcesResourceLimits) {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      "resourceLimits cannot be honoured here: Bun's child processes ignore them (JavaScriptCore takes no V8 memory flags). " +
        'Leave the option out, or run the program on Node, whose children enforce them',
    );
  }
  if (options.resourceLimits?.codeRangeSizeMb !== undefined) {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      "resourceLimits.codeRangeSizeMb cannot be honoured by the 'process' start method: V8 has no flag for it. " +
        "Leave it out (the other limits become V8 flags of the child), or use the 'thread' start method",
    );
  }
  // With the addon, every child gets a socket for segment fds (channel.ts), as its fd CHILD_CHANNEL_FD.
  const prepared = loadNative().native === undefined ? undefined : prepareChildChannel();
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  if (prepared === undefined) delete env[CHANNEL_ENV];
  else env[CHANNEL_ENV] = String(CHILD_CHANNEL_FD);
  let child: ChildProcess;
  let start: WireMessage;
  try {
    // Encoded before the fork: a payload that cannot cross throws, and no process is started.
    start = encodeMessage(message);
    const execArgv = options.execArgv ?? inheritableExecArgv();
    const registerTsx = tsxApi !== null && !execArgv.some(isTsxOption) ? tsxApi : '';
    const library = libraryEntry(processChildRole.module);
    const entryArgs = [library.url, processChildRole.name, library.format, registerTsx, String(fromSources)];
    child = childProcess().fork(entryFile, [...entryArgs, ...(options.argv ?? [])], {
      serialization: 'advanced',
      // The child writes to the program's own stdout and stderr, as a Python child does; no stdin, as a
      // worker thread has none (and Python gives its children /dev/null).
      stdio: prepared === undefined ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc', prepared.childFd],
      env,
      execArgv: [...execArgv, ...resourceLimitFlags(options.resourceLimits)],
    });
  } catch (error) {
    prepared?.abandon();
    throw error;
  }
  const channel = prepared?.attach();
  const handle = new ProcessChild(child, channel);
  child.send(sendSegmentsOf(channel, start));
  return handle;
}
