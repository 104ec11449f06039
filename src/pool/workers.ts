/**
 * Supervision of the local executor's workers: starting them, hearing how their start went
 * (`ready`, `init-failed`), retiring and stopping them, keeping them from holding the program open
 * while idle, and saying what a worker's exit means for the tasks it held. Which tasks go where is
 * `dispatch.ts`; what is done with a lost task is the executor's (`scheduler.ts`).
 *
 * What a worker's exit means, and why:
 * - Retired or stopped on purpose (`leaving`): not a failure. By then it holds nothing unfinished (it
 *   is retired only when idle, and a task it was stopped for is settled once it has exited); anything
 *   it still held is lost.
 * - Died before it was ready (a failing initializer, say): none of its tasks started, so all go back
 *   to the queue. That is a start failure; `MAX_START_FAILURES` in a row break the pool, with the
 *   initializer's error (or a `WorkerLostError`) as the error of all its work, instead of respawning
 *   forever.
 * - Died while running, however it died (`process.exit` in a task, a signal, a crash): the tasks it
 *   had claimed (claims.ts: those it had started, and whose results it had not sent) are lost
 *   (`WorkerLostError`); the tasks sent ahead behind them never started and go back to the queue,
 *   except those whose buffers were moved into it. Without a claim word (a 'process' pool without the
 *   native addon), the worker's report as it exits says which tasks had started (`exiting`: only a
 *   `process.exit` leaves time for it); without that report every task it held is lost.
 *
 * Workers keep the program alive only while the pool has work (`reference`), and a leaving worker
 * keeps it alive until it has exited, so `join()` settles.
 *
 * How many workers there are is the executor's to decide (it knows the work); what is here is the other
 * half of an elastic pool: a worker above `minProcesses` that stays idle for `idleTimeout` ms retires.
 * Each idle worker has its own timer, armed when it runs out of work and cancelled when it is sent more;
 * when the timer fires, the worker retires only if the pool still has more than `minProcesses` workers
 * not leaving, so the pool shrinks back to its minimum and never below it. The timers never keep the
 * program alive.
 */
import { spawnChild } from '../runtime/spawn.js';
import type { ChildHandle, ChildSettings } from '../runtime/child.js';
import type { StartMethod } from '../runtime/start-methods.js';
import { currentProcess, nextChild } from '../runtime/identity.js';
import { WorkerLostError } from '../errors.js';
import { startTimer, type Timer } from '../timeout.js';
import { unpackThrown } from '../transport/unpack.js';
import type { WireFunction } from '../transport/wire-function.js';
import type { Packed } from '../transport/payload.js';
import { freshSlot, type Entry, type Slot } from './dispatch.js';
import { claimsFor } from './claims.js';
import type { Transferred } from './executor.js';
import type { FromWorker, PoolWorkerPayload, ToWorker } from './protocol.js';
import { poolWorkerRole } from './worker-loop.js';

/** The handle of one running worker, whatever its start method. */
type Child = ChildHandle;

/** A batch of results from a worker. */
export type DoneMessage = Extract<FromWorker, { type: 'done' }>;

/** One worker: its handle, its dispatch state (`Slot`), and what is known of how it is doing. */
export interface PoolWorker extends Slot {
  readonly child: Child;
  /** Said `ready`: its initializer ran; from now on its death is not a start failure. */
  started: boolean;
  /** Why it could not start: its initializer's error, or the first error of a worker not yet ready. */
  initError?: unknown;
  /** The last error it reported as it died. */
  lastError?: unknown;
  /** Set when the worker said, as it exited, which tasks had started and not sent their results. */
  exitReport?: { readonly running: readonly number[] };
  /** Tasks stopped (timeout, abort) by terminating this worker: they reject once it has exited. */
  readonly stopped: (() => void)[];
  /** Stopped for an interruptible task it held: its other unfinished tasks run again elsewhere. */
  interrupted?: boolean;
  /** Runs while it is idle and may retire for it (see the module header). */
  idleTimer?: Timer | undefined;
}

/** How the workers are started (`ChildSettings`: each worker's env, argv, execArgv, memory limits). */
export interface WorkersOptions extends ChildSettings {
  readonly initializer: WireFunction | null;
  readonly initargs: Packed;
  /** How workers are started (the pool's context). */
  readonly startMethod: StartMethod;
  /** How many tasks each worker may run at once (`concurrentTasksPerWorker`); default 1. */
  readonly concurrency?: number | undefined;
  /** The workers are named `${name}-N`; default `PoolWorker`. */
  readonly name?: string | undefined;
  /** Workers kept however idle. */
  readonly minProcesses: number;
  /** Milliseconds a worker above `minProcesses` may stay idle before it retires; `Infinity`: never. */
  readonly idleTimeout: number;
}

/** What the executor hears from its workers. */
export interface WorkerEvents {
  /** `pw` is ready (its initializer ran): it starts the tasks it was sent meanwhile. */
  ready(pw: PoolWorker): void;
  /** `pw` finished a batch of tasks. */
  done(pw: PoolWorker, message: DoneMessage): void;
  /** `pw` has exited (it is no longer among the workers): see `judgeExit`. */
  exited(pw: PoolWorker, code: number): void;
}

/** What a worker's exit means for the tasks it held (see the module header). */
export interface ExitVerdict {
  /** Never started: back to the front of the queue. */
  readonly retry: readonly Entry[];
  /** Started and lost with the worker: each rejects with `lostError`. */
  readonly lost: readonly Entry[];
  /** Set when workers keep dying before they are ready: the pool is broken, and this is why. */
  readonly broken?: unknown;
}

// Consecutive workers that may die before becoming ready before the pool gives up respawning.
const MAX_START_FAILURES = 3;

export class Workers {
  readonly #options: WorkersOptions;
  readonly #events: WorkerEvents;
  readonly #all = new Set<PoolWorker>();
  /** Workers in `#all` not leaving. */
  #active = 0;
  #startFailures = 0;
  #referenced = true;

  constructor(options: WorkersOptions, events: WorkerEvents) {
    this.#options = options;
    this.#events = events;
  }

  /** How many workers are alive (leaving ones included, until they have exited). */
  get size(): number {
    return this.#all.size;
  }

  /** How many workers take tasks: alive and not leaving. */
  get active(): number {
    return this.#active;
  }

  /** The live workers, in the order they started. */
  [Symbol.iterator](): IterableIterator<PoolWorker> {
    return this.#all.values();
  }

  /**
   * Starts one worker. This is the only place the pool starts a child. Throws what starting it threw
   * (initargs that cannot be cloned, an `execArgv` a thread cannot take).
   */
  spawn(): void {
    const options = this.#options;
    const claims = claimsFor(options.startMethod);
    const payload: PoolWorkerPayload = {
      claims: claims?.buffer,
      concurrency: options.concurrency ?? 1,
      initializer: options.initializer,
      initargs: options.initargs,
    };
    const { path, defaultName } = nextChild(options.name ?? 'PoolWorker');
    const child = spawnChild(
      options.startMethod,
      {
        role: poolWorkerRole,
        identity: {
          self: { name: defaultName, pid: process.pid, ident: 0, daemon: true },
          path,
          parent: currentProcess(),
        },
        payload,
      },
      {
        name: defaultName,
        payloadLabel: 'initargs',
        payloadForErrors: options.initargs.value,
        packedParts: { initializer: options.initializer, initargs: options.initargs.value },
        resourceLimits: options.resourceLimits,
        env: options.env,
        argv: options.argv,
        execArgv: options.execArgv,
      },
    );
    const pw: PoolWorker = { ...freshSlot(claims), child, started: false, stopped: [] };
    this.#all.add(pw);
    this.#active += 1;
    this.idle(pw);
    if (!this.#referenced) child.unref();
    child.on('message', (message: FromWorker) => this.#onMessage(pw, message));
    child.on('error', (error: unknown) => {
      pw.initError ??= pw.started ? undefined : error;
      pw.lastError = error;
    });
    child.on('exit', (code: number) => {
      pw.idleTimer?.cancel();
      this.#all.delete(pw);
      if (!pw.leaving) this.#active -= 1;
      this.#events.exited(pw, code);
    });
  }

  /**
   * `pw` has nothing in flight: if it may retire for idleness, its idle time starts now. Called for a
   * worker as it starts, and by the executor whenever one has answered every task it was sent.
   */
  idle(pw: PoolWorker): void {
    const { idleTimeout, minProcesses } = this.#options;
    if (idleTimeout === Infinity || pw.idleTimer !== undefined || this.#active <= minProcesses) return;
    pw.idleTimer = startTimer(
      () => {
        pw.idleTimer = undefined;
        if (!pw.leaving && pw.inflight.size === 0 && this.#active > minProcesses) this.retire(pw);
      },
      idleTimeout,
      false,
    );
  }

  /** `pw` was sent work: no longer idle. */
  busy(pw: PoolWorker): void {
    if (pw.idleTimer === undefined) return;
    pw.idleTimer.cancel();
    pw.idleTimer = undefined;
  }

  post(pw: PoolWorker, message: ToWorker, transfer?: Transferred[]): void {
    pw.child.postMessage(message, transfer);
  }

  /** Asks `pw` to leave once it has sent its results; its exit is not a loss. */
  retire(pw: PoolWorker): void {
    this.#leave(pw);
    this.post(pw, { type: 'stop' });
  }

  /** Terminates `pw` now; its exit is not a loss. `settle` runs once it has exited. */
  stop(pw: PoolWorker, settle?: () => void): Promise<void> {
    this.#leave(pw);
    if (settle !== undefined) pw.stopped.push(settle);
    return pw.child.terminate();
  }

  #leave(pw: PoolWorker): void {
    this.busy(pw);
    if (!pw.leaving) this.#active -= 1;
    pw.leaving = true;
    pw.child.ref(); // stay alive until it has exited, so join() settles
  }

  /** Whether the workers keep the program alive: only while the pool has work. */
  reference(referenced: boolean): void {
    if (referenced === this.#referenced) return;
    this.#referenced = referenced;
    for (const pw of this.#all) {
      if (referenced || pw.leaving) pw.child.ref();
      else pw.child.unref();
    }
  }

  /**
   * What the exit of `pw` with `code` means for `held`, the unfinished tasks it held (oldest first).
   * `serving`: the pool still runs work (not terminated, not broken), so tasks can be retried.
   */
  judgeExit(pw: PoolWorker, code: number, held: Entry[], serving: boolean): ExitVerdict {
    if (!pw.started && !pw.leaving) {
      this.#startFailures += 1;
      if (this.#startFailures < MAX_START_FAILURES) return { retry: held, lost: [] };
      const broken =
        pw.initError ??
        Object.assign(new WorkerLostError(`pool workers keep exiting (code ${code}) before they can run a task`), { exitCode: code });
      return { retry: held, lost: [], broken };
    }
    if (held.length === 0 || !serving) return { retry: [], lost: held };
    let started: (entry: Entry) => boolean;
    if (pw.claims !== undefined) {
      const claimed = pw.claims.claimed();
      started = (entry) => entry.seq < claimed;
    } else if (pw.exitReport !== undefined) {
      const running = pw.exitReport.running;
      started = (entry) => running.includes(entry.id);
    } else {
      return { retry: [], lost: held };
    }
    const lost = held.filter((entry) => started(entry) || entry.task.transfer !== undefined);
    return { retry: held.filter((entry) => !lost.includes(entry)), lost };
  }

  /** The error of a task lost with `pw`, which exited with `code`. */
  lostError(pw: PoolWorker, code: number): WorkerLostError {
    const lastError = pw.lastError;
    const error = new WorkerLostError(
      `the pool worker running this task exited (code ${code}) before it finished` +
        (lastError instanceof Error ? `: ${lastError.message}` : ''),
      lastError === undefined ? undefined : { cause: lastError },
    );
    error.exitCode = code;
    return error;
  }

  #onMessage(pw: PoolWorker, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        pw.started = true;
        this.#startFailures = 0;
        this.#events.ready(pw);
        return;
      case 'init-failed':
        pw.initError = unpackThrown(message.error);
        return;
      case 'exiting':
        pw.exitReport = { running: message.running };
        return;
      case 'done':
        this.#events.done(pw, message);
    }
  }
}
