/**
 * `Process`: a child running one function, as Python's `multiprocessing.Process`.
 */
import { assertMayStartChildren, currentProcess, nextChild } from '../runtime/identity.js';
import { spawnChild } from '../runtime/spawn.js';
import type { ChildHandle } from '../runtime/child.js';
import { currentStartMethod, type StartMethod } from '../runtime/start-methods.js';
import { reportChildError } from '../runtime/report.js';
import type { FunctionReference, WireFunction } from '../transport/wire-function.js';
import { pack, toPlacedWireFunction } from '../transport/pack.js';
import type { Packed } from '../transport/payload.js';
import { describeValue, misuse } from '../errors.js';
import { checkOptionKeys } from '../option-keys.js';
import { startTimer, waitTimeout, type Timer } from '../timeout.js';
import { processChildRole, type ProcessPayload } from './child.js';

/** A function a child can run: exported from a module, self-contained, or an explicit `{ module, name }`. */
export type Target<A extends unknown[] = unknown[]> = ((...args: A) => unknown) | FunctionReference;

/** Options of `new Process(…)`, as Python's keyword arguments. */
export interface ProcessOptions<A extends unknown[] = unknown[]> {
  /**
   * What the child runs; awaited if it returns a promise. Without one, the child does nothing. The child
   * ends as a Node program does: once the target has returned and nothing is left on its event loop
   * (timers, sockets and servers it started still run), or at `process.exit`.
   */
  target?: Target<A>;
  /**
   * The target's arguments; shared objects among them arrive live. Required (by the constructor's type)
   * when the target has required parameters.
   */
  args?: A;
  /** Defaults to `Process-N`. */
  name?: string;
  /** A daemon child is terminated when the program exits; a non-daemon one keeps it alive. Default: false. */
  daemon?: boolean;
}

/**
 * What the constructor asks of `args` beyond `ProcessOptions`: a target with required parameters
 * needs them (without, the child would call it with none, and fail inside); a target that has none, or
 * only optional ones, may go without.
 */
type ArgsNeeded<A extends unknown[]> = [] extends A ? unknown : { args: A };

const PROCESS_OPTION_KEYS = ['target', 'args', 'name', 'daemon'] as const satisfies readonly (keyof ProcessOptions)[];

type State = 'initial' | 'started' | 'closed';

const SIGTERM_EXIT = -15;
const SIGKILL_EXIT = -9;

const live = new Set<object>();

/**
 * A child process (in the default `'thread'` start method, a worker thread with its own isolate).
 *
 * @example
 * ```ts
 * // worker.ts
 * export function greet(name: string) { console.log('hello', name); }
 * // main.ts
 * const p = new Process({ target: greet, args: ['bob'] });
 * p.start();
 * await p.join();
 * p.exitCode; // 0
 * ```
 */
export class Process<A extends unknown[] = unknown[]> {
  /** The process's name, for messages and `currentProcess()` in the child. */
  name: string;
  #daemon: boolean;
  readonly #target: WireFunction | null;
  readonly #args: A;
  readonly #path: number[];
  #state: State = 'initial';
  readonly #startMethod: StartMethod;
  #child: ChildHandle | undefined;
  #ident: number | undefined;
  #pid: number | undefined;
  #exitCode: number | null = null;
  #signalled: number | undefined;
  #exited: Promise<void> | undefined;
  #joiners = 0;

  constructor(options?: ProcessOptions<A> & ArgsNeeded<A>);
  constructor(options: ProcessOptions<A> = {}) {
    if (typeof options !== 'object' || options === null) {
      throw misuse(
        TypeError,
        'ERR_MP_INVALID_ARG',
        `new Process() takes an options object such as { target, args }, not ${describeValue(options)}` +
          (typeof options === 'function' ? `: write new Process({ target: ${(options as Function).name || 'fn'} })` : ''),
      );
    }
    checkOptionKeys(options, PROCESS_OPTION_KEYS, 'new Process()', {
      kwargs: 'JavaScript has no keyword arguments: pass an object among args, as new Process({ target, args: [{ key: value }] }).',
    });
    const { path, defaultName } = nextChild();
    this.#path = path;
    this.#startMethod = currentStartMethod();
    this.name = options.name ?? defaultName;
    this.#daemon = options.daemon ?? currentProcess().daemon;
    this.#target = options.target === undefined ? null : toPlacedWireFunction(options.target, 'target');
    this.#args = (options.args ?? []) as A;
    if (!Array.isArray(this.#args)) {
      throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `args must be an array of the target's arguments, not ${describeValue(this.#args)}`);
    }
  }

  /** Whether the child is a daemon; set it before `start()`. */
  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#state !== 'initial') throw misuse(Error, 'ERR_MP_PROCESS_STARTED', 'process has already started');
    this.#daemon = value;
  }

  /** Starts the child. Throws if it was started before. */
  start(): void {
    this.#assertNotClosed();
    if (this.#state !== 'initial') throw misuse(Error, 'ERR_MP_PROCESS_STARTED', 'cannot start a process twice');
    assertMayStartChildren();
    const parent = currentProcess();
    // Packed once the child has its seat (see spawnChild); kept for the error that names a bad argument.
    let packedArgs: Packed | undefined;
    const target = this.#target;
    const child = spawnChild(
      this.#startMethod,
      () => ({
        role: processChildRole,
        identity: {
          self: { name: this.name, pid: process.pid, ident: 0, daemon: this.#daemon },
          path: this.#path,
          parent,
        },
        payload: { target, args: (packedArgs = pack(this.#args, 'args')) } satisfies ProcessPayload,
      }),
      {
        name: this.name,
        payloadLabel: 'args',
        payloadForErrors: this.#args,
        get packedParts() {
          return packedArgs === undefined ? undefined : { target, args: packedArgs.value };
        },
      },
    );
    this.#child = child;
    this.#ident = child.ident;
    this.#pid = child.pid;
    this.#state = 'started';
    live.add(this);
    if (this.#daemon) child.unref();
    this.#exited = new Promise<void>((resolve) => {
      child.on('error', (error) => {
        // An error thrown outside the target (a timer's callback, say) ends the child with code 1.
        reportChildError(this.name, error);
      });
      child.on('exit', (code) => {
        this.#exitCode = this.#signalled ?? code;
        live.delete(this);
        resolve();
      });
    });
  }

  /**
   * Waits until the child ends, or until `timeout` ms have passed (then check `exitCode` or `isAlive()`).
   * `undefined` or `Infinity` waits forever; a negative timeout is 0, as in Python.
   */
  async join(timeout?: number): Promise<void> {
    this.#assertNotClosed();
    if (this.#state === 'initial' || this.#exited === undefined) {
      throw misuse(Error, 'ERR_MP_PROCESS_NOT_STARTED', 'can only join a started process');
    }
    const ms = waitTimeout(timeout, 'timeout');
    // A daemon child is unref'd so that it does not keep the program alive; while someone awaits
    // join(), it must (else the program would exit under the joiner, its promise never settled).
    const child = this.#child;
    const holdsRef = this.#daemon && child !== undefined && this.#exitCode === null;
    if (holdsRef) {
      this.#joiners += 1;
      child.ref();
    }
    let timer: Timer | undefined;
    try {
      if (ms === Infinity) return await this.#exited;
      await Promise.race([
        this.#exited,
        new Promise<void>((resolve) => {
          timer = startTimer(resolve, ms);
        }),
      ]);
    } finally {
      timer?.cancel();
      if (holdsRef) {
        this.#joiners -= 1;
        if (this.#joiners === 0 && this.#exitCode === null) child.unref();
      }
    }
  }

  /** True from `start()` until the child has ended. */
  isAlive(): boolean {
    this.#assertNotClosed();
    return this.#state === 'started' && this.#exitCode === null;
  }

  /** Stops the child now; its `exitCode` becomes -15, as after SIGTERM in Python. */
  terminate(): void {
    this.#stop(SIGTERM_EXIT);
  }

  /** Stops the child now; its `exitCode` becomes -9, as after SIGKILL in Python. */
  kill(): void {
    this.#stop(SIGKILL_EXIT);
  }

  #stop(code: number): void {
    this.#assertNotClosed();
    if (this.#child === undefined || this.#exitCode !== null) return;
    this.#signalled ??= code;
    void (code === SIGKILL_EXIT ? this.#child.kill() : this.#child.terminate());
  }

  /** Releases the process object. Throws while the child is still running. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'started' && this.#exitCode === null) {
      throw misuse(
        Error,
        'ERR_MP_PROCESS_RUNNING',
        'Cannot close a process while it is still running. You should first call join() or terminate().',
      );
    }
    this.#state = 'closed';
    this.#child = undefined;
  }

  /** The OS process id: the program's own in the `'thread'` start method. `undefined` before `start()`. */
  get pid(): number | undefined {
    this.#assertNotClosed();
    return this.#pid;
  }

  /** Unique among this program's running children (a thread's id, a process's pid). `undefined` before `start()`. */
  get ident(): number | undefined {
    this.#assertNotClosed();
    return this.#ident;
  }

  /**
   * `null` while running; 0 after a normal end (or the `process.exitCode` the child set), N after
   * `process.exit(N)`, 1 after an uncaught error, -15 after `terminate()`, -9 after `kill()`.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  #assertNotClosed(): void {
    if (this.#state === 'closed') throw misuse(Error, 'ERR_MP_PROCESS_CLOSED', 'process object is closed');
  }

  toString(): string {
    const status = this.#state === 'initial' ? 'initial' : this.#exitCode === null ? 'started' : 'stopped';
    const code = this.#exitCode === null ? '' : ` exitCode=${this.#exitCode}`;
    return `<Process name='${this.name}' ${status}${this.#daemon ? ' daemon' : ''}${code}>`;
  }
}

/** The children of this process that are still running. @example `activeChildren().length` */
export function activeChildren(): Process[] {
  return [...live] as Process[];
}
