/**
 * Who runs what: the pool's workers, the queue of pending tasks, what each worker holds in flight,
 * and what happens when a worker dies.
 *
 * Policy, and why:
 * - Each worker holds a few tasks in flight, more when tasks are quick: pipelining hides the round
 *   trip, and for tiny tasks how many are in flight matters far more than how a worker is signalled.
 *   Many queued tasks go to a worker in one message.
 * - Every task settles exactly once. A worker that dies rejects exactly the tasks it held
 *   (`WorkerLostError`) and is replaced. Workers that die while starting (a failing initializer, say)
 *   are retried a few times, then the pool stops respawning and rejects its work with that error.
 * - A task with a `timeout` or an abort `signal` runs alone on its worker, so stopping it means
 *   terminating that worker without harming other tasks. Its promise rejects only once that worker
 *   has exited: when the caller goes on, the task's thread is really gone (and whatever it held, such
 *   as a lock, is held by a dead thread, which the lock can then detect).
 * - `close()` waits for every hold (an `imap` still reading its input) besides the queued work; after
 *   `terminate()`, a task submitted late rejects at once instead of waiting in a queue nobody serves.
 * - Workers keep the program alive only while the pool has work; an idle pool that was never closed
 *   does not hang the program at exit.
 */
import { spawnChild } from '../runtime/spawn.js';
import type { ChildHandle, Movable, ResourceLimits } from '../runtime/child.js';
import { poolWorkerRole } from './worker-loop.js';
import type { StartMethod } from '../runtime/start-methods.js';
import { startTimer, type Timer } from '../timeout.js';
import { currentProcess, nextChild } from '../runtime/identity.js';
import { TimeoutError, WorkerLostError, misuse } from '../errors.js';
import { deserializeThrown } from '../transport/remote-error.js';
import { wireKey, type WireFunction } from '../transport/wire-function.js';
import { uncloneableError, type Packed } from '../transport/payload.js';
import { unpackNow } from '../transport/unpack.js';
import { Fifo } from './fifo.js';
import { Outcome, TaskMode, type ChunkOutcome, type FromWorker, type PoolWorkerPayload, type ToWorker, type WireTask } from './protocol.js';

/** A task as the scheduler sees it. The pool layer supplies what to run and what to do with the outcome. */
export interface ScheduledTask {
  readonly fn: WireFunction;
  readonly mode: TaskMode;
  readonly data: unknown;
  readonly live: boolean;
  /** Milliseconds it may run once started; `undefined` for no limit. */
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Buffers (and ports) to move into the worker instead of copying (they become unusable here). */
  readonly transfer?: readonly Transferred[] | undefined;
  /** For a `map`/`imap` chunk: the input index of its first item, so errors name the right item. */
  readonly base?: number | undefined;
  /** Called once with the worker's outcome (see `Outcome`); `value` is already deserialized for failures. */
  onResult(outcome: Outcome, value: unknown): void;
  /** Called once when the task cannot finish (worker lost, timeout, abort, terminate). */
  onError(error: unknown): void;
}

/** What moves into a worker with a task (checked by the pool: shared buffers are not listed). */
export type Transferred = Movable;

/**
 * Delivers a result the worker packed (it holds shared objects or class instances): revived here, and
 * delivered once the classes of its instances are loaded if this thread did not have them yet.
 */
function deliverLive(task: ScheduledTask, outcome: Outcome, value: unknown): void {
  let classes: Promise<void> | undefined;
  let result: unknown;
  try {
    const later = (settled: Promise<void>): void => {
      classes = settled;
    };
    if (outcome === Outcome.Partial) {
      const chunk = value as ChunkOutcome;
      result = { results: unpackNow(chunk.results, later) as unknown[], errors: chunk.errors } satisfies ChunkOutcome;
    } else {
      result = unpackNow(value, later);
    }
  } catch (error) {
    task.onResult(Outcome.Failed, error);
    return;
  }
  if (classes === undefined) task.onResult(outcome, result);
  else void classes.catch(() => {}).then(() => task.onResult(outcome, result));
}

interface Entry {
  readonly id: number;
  readonly task: ScheduledTask;
  readonly fnId: number;
  readonly exclusive: boolean;
  /** Roughly how many bytes its data costs to clone (large payloads travel in messages of their own). */
  readonly bytes: number;
  done: boolean;
  timer?: Timer;
  unlisten?: () => void;
}

interface PoolWorker {
  readonly worker: ChildHandle;
  readonly inflight: Fifo<Entry>;
  /** Sum of `bytes` over `inflight`. */
  inflightBytes: number;
  readonly known: Set<number>;
  started: boolean;
  tasksSent: number;
  /** Running a task that must run alone. */
  exclusive: boolean;
  /** Told to stop (close, maxTasksPerChild) or terminated on purpose: its exit is not a loss. */
  leaving: boolean;
  initError?: unknown;
  /** Set when the worker said, as it exited, which task it was running (`null`: none). */
  exitReport?: { readonly running: number | null };
  /** Tasks stopped (timeout, abort) by terminating this worker: they reject once it has exited. */
  readonly stopped: (() => void)[];
}

export interface SchedulerOptions {
  readonly processes: number;
  readonly initializer: WireFunction | null;
  readonly initargs: Packed;
  readonly maxTasksPerChild: number | null;
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly startMethod: StartMethod;
}

// Consecutive workers that may die before becoming ready before the pool gives up respawning.
const MAX_START_FAILURES = 3;
// Tasks are sized so that a worker has about this much work queued behind the running one.
const PIPELINE_MS = 2;
const MAX_IN_FLIGHT = 1024;
// A message of tasks carries about this many bytes of payload at most (one task may carry more).
const BATCH_BYTES = 256 * 1024;
// A worker holds at most this many bytes of cloned payload in flight (and always at least one task):
// one large payload at a time, several smaller ones. Each payload still in flight holds its serialized
// copy in fresh memory on the parent's side; bounded, the parent reuses that memory instead of
// faulting in new pages (W6, 64 × 1 MiB copied: about 28 ms, as the peers that keep one task in flight
// per worker, against 31 ms with every task sent at once). Transferred buffers are not counted.
const INFLIGHT_BYTES = 1024 * 1024;

/**
 * What cloning a task's data costs, roughly: the bytes of the buffers among its top-level values that
 * are neither shared nor transferred.
 */
function cloneBytes(data: unknown, transfer: readonly Transferred[] | undefined, depth = 0): number {
  if (ArrayBuffer.isView(data)) {
    const buffer = data.buffer;
    return buffer instanceof SharedArrayBuffer || transfer?.includes(buffer) ? 0 : data.byteLength;
  }
  if (data instanceof ArrayBuffer) return transfer?.includes(data) ? 0 : data.byteLength;
  if (!Array.isArray(data)) return 0;
  let bytes = data.length * 8;
  if (data.length <= 16 && depth < 2) for (const item of data) bytes += cloneBytes(item, transfer, depth + 1);
  return bytes;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #workers = new Set<PoolWorker>();
  readonly #pending = new Fifo<Entry>(1024);
  #pendingCount = 0;
  #inflightCount = 0;
  #nextId = 1;
  readonly #functionIds = new Map<string, number>();
  readonly #idOfWire = new WeakMap<WireFunction, number>();
  readonly #functions: WireFunction[] = [];
  #averageTaskMs: number | undefined;
  #startFailures = 0;
  #broken: unknown;
  #closing = false;
  /** Things that will still submit work after `close()` (imaps reading their input). */
  #holds = 0;
  #terminated: Error | undefined;
  #dispatchQueued = false;
  #referenced = true;
  readonly #allExited: Promise<void>;
  #resolveAllExited!: () => void;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#allExited = new Promise((resolve) => (this.#resolveAllExited = resolve));
    for (let i = 0; i < options.processes; i++) this.#spawn();
    this.#setReferenced(false);
  }

  /** The error that broke the pool (its initializer keeps failing), if any. */
  get broken(): unknown {
    return this.#broken;
  }

  /** How many workers are alive now. */
  get size(): number {
    return this.#workers.size;
  }

  submit(task: ScheduledTask): void {
    if (this.#broken !== undefined || this.#terminated !== undefined) {
      task.onError(this.#broken ?? this.#terminated);
      return;
    }
    const signal = task.signal;
    if (signal?.aborted) {
      task.onError(signal.reason);
      return;
    }
    const entry: Entry = {
      id: this.#nextId++,
      task,
      fnId: this.#functionId(task.fn),
      exclusive: task.timeout !== undefined || signal !== undefined,
      bytes: cloneBytes(task.data, task.transfer),
      done: false,
    };
    if (signal !== undefined) {
      const onAbort = (): void => this.#stop(entry, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      entry.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.#pending.push(entry);
    this.#pendingCount += 1;
    this.#workChanged();
    this.#queueDispatch();
  }

  /** No new tasks; workers leave once the queued ones are done and every hold is released. */
  close(): void {
    this.#closing = true;
    this.#retireIfIdle();
  }

  /**
   * Keeps the workers after `close()` until the returned function is called: for an `imap` that will
   * still submit chunks of its input.
   */
  hold(): () => void {
    this.#holds += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holds -= 1;
      this.#retireIfIdle();
    };
  }

  /** Stops every worker now and rejects every unfinished task with `error`. */
  async terminate(error: Error): Promise<void> {
    this.#closing = true;
    this.#terminated = error;
    this.#failAll(error);
    const stopping: Promise<void>[] = [];
    for (const pw of this.#workers) {
      pw.leaving = true;
      pw.worker.ref();
      stopping.push(pw.worker.terminate());
    }
    await Promise.all(stopping);
    await this.#allExited;
  }

  /** Resolves once every worker has exited (after `close` and the work, or `terminate`). */
  joined(): Promise<void> {
    return this.#allExited;
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #functionId(fn: WireFunction): number {
    // The same wire object comes back for every call of one function (toWireFunction caches it):
    // remembering its id spares building and hashing its key (its whole source text) per task.
    const known = this.#idOfWire.get(fn);
    if (known !== undefined) return known;
    const key = wireKey(fn);
    let id = this.#functionIds.get(key);
    if (id === undefined) {
      id = this.#functions.length;
      this.#functions.push(fn);
      this.#functionIds.set(key, id);
    }
    this.#idOfWire.set(fn, id);
    return id;
  }

  #queueDispatch(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => {
      this.#dispatchQueued = false;
      this.#dispatch();
    });
  }

  #inflightLimit(): number {
    const average = this.#averageTaskMs;
    if (average === undefined) return 2;
    // Even long tasks keep one queued behind the running one: on a busy machine the parent may take a
    // scheduler time slice to answer, and the worker must not sit idle meanwhile.
    if (average >= PIPELINE_MS) return 2;
    return Math.min(MAX_IN_FLIGHT, Math.max(2, Math.ceil(PIPELINE_MS / average)));
  }

  #dispatch(): void {
    if (this.#pendingCount === 0) return;
    const limit = this.#inflightLimit();
    const candidates = [...this.#workers].filter((pw) => !pw.leaving && !pw.exclusive);
    const fairShare = Math.ceil(this.#pendingCount / Math.max(1, candidates.length));
    const shares = new Map(candidates.map((pw) => [pw, Math.min(limit - pw.inflight.size, fairShare)]));
    // One message per worker per round: with large payloads split into several messages, every worker
    // gets its first one before any worker gets the rest of its share.
    for (let sent = true; sent && this.#pendingCount > 0; ) {
      sent = false;
      for (const pw of candidates) {
        const share = shares.get(pw)!;
        if (share <= 0 || pw.exclusive) continue;
        const batch = this.#takeBatch(pw, share);
        shares.set(pw, batch.length === 0 ? 0 : share - batch.length);
        if (batch.length === 0) continue;
        this.#send(pw, batch);
        sent = true;
      }
    }
  }

  /** Takes up to `share` queued tasks for one message to `pw` (fewer once they carry `BATCH_BYTES`). */
  #takeBatch(pw: PoolWorker, share: number): Entry[] {
    const batch: Entry[] = [];
    const max = this.#options.maxTasksPerChild;
    let bytes = 0;
    while (batch.length < share) {
      const head = this.#pending.peek();
      if (head === undefined) break;
      if (head.done) {
        this.#pending.shift();
        continue;
      }
      if (max !== null && pw.tasksSent + batch.length >= max) break;
      if (head.exclusive) {
        // Runs alone: only on a worker with nothing else in flight.
        if (batch.length > 0 || pw.inflight.size > 0) break;
        this.#pending.shift();
        batch.push(head);
        pw.exclusive = true;
        break;
      }
      // Large payloads go in messages of their own, so the worker starts on the first while the next
      // ones are still being copied.
      if (batch.length > 0 && bytes + head.bytes > BATCH_BYTES) break;
      if ((batch.length > 0 || pw.inflight.size > 0) && pw.inflightBytes + bytes + head.bytes > INFLIGHT_BYTES) break;
      this.#pending.shift();
      batch.push(head);
      bytes += head.bytes;
    }
    return batch;
  }

  #send(pw: PoolWorker, batch: Entry[]): void {
    for (const entry of batch) {
      if (!pw.known.has(entry.fnId)) {
        pw.known.add(entry.fnId);
        this.#post(pw, { type: 'define', id: entry.fnId, fn: this.#functions[entry.fnId]! });
      }
    }
    this.#pendingCount -= batch.length;
    const wire = (entry: Entry): WireTask => [entry.id, entry.fnId, entry.task.mode, entry.task.data, entry.task.live];
    let sent = batch;
    try {
      let transfer: Transferred[] | undefined;
      for (const entry of batch) if (entry.task.transfer) (transfer ??= []).push(...entry.task.transfer);
      this.#post(pw, { type: 'run', tasks: batch.map(wire) }, transfer);
    } catch (error) {
      if (!(error instanceof Error && error.name === 'DataCloneError')) throw error;
      // Some task's data cannot be cloned: send them one by one and fail only those.
      sent = [];
      for (const entry of batch) {
        try {
          this.#post(pw, { type: 'run', tasks: [wire(entry)] }, entry.task.transfer as Transferred[] | undefined);
          sent.push(entry);
        } catch (cloneError) {
          this.#finish(entry);
          entry.task.onError(taskUncloneable(entry.task, cloneError));
        }
      }
      if (sent.length === 0) pw.exclusive = false;
    }
    for (const entry of sent) {
      pw.inflight.push(entry);
      pw.inflightBytes += entry.bytes;
      const timeout = entry.task.timeout;
      if (timeout !== undefined) {
        entry.timer = startTimer(
          () => this.#stop(entry, new TimeoutError(`the task did not finish within its timeout of ${timeout} ms`)),
          timeout,
        );
      }
    }
    this.#inflightCount += sent.length;
    pw.tasksSent += sent.length;
    this.#workChanged();
  }

  #post(pw: PoolWorker, message: ToWorker, transfer?: Transferred[]): void {
    pw.worker.postMessage(message, transfer);
  }

  // ---- results ----------------------------------------------------------------------------------

  #onMessage(pw: PoolWorker, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        pw.started = true;
        this.#startFailures = 0;
        return;
      case 'init-failed':
        pw.initError = deserializeThrown(message.error);
        return;
      case 'exiting':
        pw.exitReport = { running: message.running };
        return;
      case 'done': {
        // After terminate() (or once the pool is broken) every task was already settled and the in-flight
        // lists emptied: results still on their way from a worker are dropped.
        if (this.#terminated !== undefined || this.#broken !== undefined) return;
        const count = message.results.length;
        if (message.busyMs > 0 && count > 0) {
          const perTask = message.busyMs / count;
          this.#averageTaskMs = this.#averageTaskMs === undefined ? perTask : this.#averageTaskMs * 0.7 + perTask * 0.3;
        }
        for (const [id, outcome, value, live] of message.results) {
          const entry = pw.inflight.shift();
          if (entry === undefined || entry.id !== id) throw misuse(Error, 'ERR_MP_INTERNAL', `pool protocol error: result ${id} out of order`);
          this.#inflightCount -= 1;
          pw.inflightBytes -= entry.bytes;
          if (entry.exclusive) pw.exclusive = false;
          if (entry.done) continue;
          this.#finish(entry);
          if (outcome === Outcome.Failed) entry.task.onResult(outcome, deserializeThrown(value as never));
          else if (live === true) deliverLive(entry.task, outcome, value);
          else entry.task.onResult(outcome, value);
        }
        this.#afterProgress(pw);
      }
    }
  }

  #finish(entry: Entry): void {
    entry.done = true;
    entry.timer?.cancel();
    entry.unlisten?.();
  }

  #afterProgress(pw: PoolWorker): void {
    const max = this.#options.maxTasksPerChild;
    if (max !== null && pw.tasksSent >= max && pw.inflight.size === 0 && !pw.leaving) {
      this.#retire(pw);
      if (this.#wanted()) this.#spawn();
    }
    this.#workChanged();
    this.#retireIfIdle();
    this.#dispatch();
  }

  /** Stops a task that may be queued or running (abort, timeout). */
  #stop(entry: Entry, reason: unknown): void {
    if (entry.done) return;
    this.#finish(entry);
    for (const pw of this.#workers) {
      if (pw.exclusive && pw.inflight.peek() === entry) {
        // Running alone on its worker: stopping it means stopping the worker, and the task rejects once
        // the worker has exited (#onExit), so that the caller never goes on beside a thread still running.
        pw.leaving = true;
        pw.worker.ref();
        pw.stopped.push(() => entry.task.onError(reason));
        void pw.worker.terminate();
        return;
      }
    }
    // Still queued: it is skipped when reached.
    this.#pendingCount -= 1;
    entry.task.onError(reason);
    this.#workChanged();
    this.#retireIfIdle();
  }

  // ---- workers ----------------------------------------------------------------------------------

  #spawn(): void {
    const payload: PoolWorkerPayload = { initializer: this.#options.initializer, initargs: this.#options.initargs };
    const { path, defaultName } = nextChild('PoolWorker');
    const worker = spawnChild(
      this.#options.startMethod,
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
        payloadForErrors: this.#options.initargs.value,
        ...(this.#options.resourceLimits ? { resourceLimits: this.#options.resourceLimits } : {}),
      },
    );
    const pw: PoolWorker = {
      worker,
      inflight: new Fifo<Entry>(),
      inflightBytes: 0,
      known: new Set(),
      started: false,
      tasksSent: 0,
      exclusive: false,
      leaving: false,
      stopped: [],
    };
    this.#workers.add(pw);
    if (!this.#referenced) worker.unref();
    worker.on('message', (message: FromWorker) => this.#onMessage(pw, message));
    worker.on('error', (error) => {
      pw.initError ??= pw.started ? undefined : error;
      (pw as { lastError?: unknown }).lastError = error;
    });
    worker.on('exit', (code) => this.#onExit(pw, code));
  }

  #retire(pw: PoolWorker): void {
    pw.leaving = true;
    pw.worker.ref(); // stay alive until it has exited, so join() settles
    this.#post(pw, { type: 'stop' });
  }

  #onExit(pw: PoolWorker, code: number): void {
    this.#workers.delete(pw);
    // Tasks stopped by terminating this worker (timeout, abort): it is gone now, so they may reject.
    for (const settle of pw.stopped.splice(0)) settle();
    const all = pw.inflight.drain();
    this.#inflightCount -= all.length;
    const held = all.filter((entry) => !entry.done);
    if (!pw.started && !pw.leaving) {
      // Died before it could run anything: its tasks never started, so they go back to the queue.
      this.#startFailures += 1;
      for (const entry of held.reverse()) this.#pending.unshift(entry);
      this.#pendingCount += held.length;
      if (this.#startFailures >= MAX_START_FAILURES) {
        this.#broken =
          pw.initError ??
          Object.assign(new WorkerLostError(`pool workers keep exiting (code ${code}) before they can run a task`), {
            exitCode: code,
          });
        this.#failAll(this.#broken);
      }
    } else if (held.length > 0) {
      let lost = held;
      const report = pw.exitReport;
      if (report !== undefined && this.#terminated === undefined && this.#broken === undefined) {
        // The worker said which task it was running as it exited: the ones behind it never started, so
        // they go back to the front of the queue (unless their buffers were transferred into it).
        lost = held.filter((entry) => entry.id === report.running || entry.task.transfer !== undefined);
        const retry = held.filter((entry) => !lost.includes(entry));
        for (const entry of retry.reverse()) this.#pending.unshift(entry);
        this.#pendingCount += retry.length;
      }
      const lastError = (pw as { lastError?: unknown }).lastError;
      for (const entry of lost) {
        this.#finish(entry);
        const error = new WorkerLostError(
          `the pool worker running this task exited (code ${code}) before it finished` +
            (lastError instanceof Error ? `: ${lastError.message}` : ''),
          lastError === undefined ? undefined : { cause: lastError },
        );
        error.exitCode = code;
        entry.task.onError(error);
      }
    }
    const needed = this.#terminated === undefined && this.#broken === undefined && this.#wanted();
    if (needed && this.#workers.size < this.#options.processes) this.#spawn();
    this.#workChanged();
    this.#retireIfIdle();
    if (this.#workers.size === 0 && (this.#closing || this.#broken !== undefined)) this.#resolveAllExited();
    this.#dispatch();
  }

  /** Whether workers are still wanted: not closed, or closed with work queued or still to come. */
  #wanted(): boolean {
    return !this.#closing || this.#pendingCount > 0 || this.#holds > 0;
  }

  #failAll(error: unknown): void {
    for (const entry of this.#pending.drain()) {
      if (entry.done) continue;
      this.#finish(entry);
      entry.task.onError(error);
    }
    this.#pendingCount = 0;
    for (const pw of this.#workers) {
      for (const entry of pw.inflight.drain()) {
        if (entry.done) continue;
        this.#finish(entry);
        entry.task.onError(error);
      }
    }
    this.#inflightCount = 0;
    this.#workChanged();
  }

  #retireIfIdle(): void {
    if (!this.#closing || this.#pendingCount > 0 || this.#inflightCount > 0) return;
    if (this.#holds > 0 && this.#terminated === undefined && this.#broken === undefined) return;
    for (const pw of this.#workers) if (!pw.leaving) this.#retire(pw);
    if (this.#workers.size === 0) this.#resolveAllExited();
  }

  // Workers keep the program alive only while there is work.
  #workChanged(): void {
    const busy = this.#pendingCount + this.#inflightCount > 0;
    if (busy !== this.#referenced) this.#setReferenced(busy);
  }

  #setReferenced(referenced: boolean): void {
    this.#referenced = referenced;
    for (const pw of this.#workers) {
      if (referenced || pw.leaving) pw.worker.ref();
      else pw.worker.unref();
    }
  }
}

// The error for a task whose data cannot be cloned, naming the path from the caller's point of view:
// `args[0].a` for `apply`, `iterable[17].b` (the index in the whole input) for a `map` chunk.
function taskUncloneable(task: ScheduledTask, cause: unknown): TypeError {
  if (task.mode === TaskMode.Apply || !Array.isArray(task.data)) {
    return uncloneableError(task.data, task.mode === TaskMode.Apply ? 'args' : 'iterable', cause);
  }
  const items = task.data as unknown[];
  for (let i = 0; i < items.length; i++) {
    try {
      structuredClone(items[i]);
    } catch (itemCause) {
      return uncloneableError(items[i], `iterable[${(task.base ?? 0) + i}]`, itemCause);
    }
  }
  return uncloneableError(items, 'iterable', cause);
}
