/**
 * The local executor: runs a pool's tasks on worker threads of this process. It joins the dispatch
 * policy (`dispatch.ts`: which task goes to which worker) and the supervision of the workers
 * (`workers.ts`: starting, retiring, what an exit means), and owns what lies between them: the
 * lifecycle (close, holds, terminate, broken), sending batches, delivering results, and stopping tasks.
 *
 * - Every task settles exactly once. A worker that dies rejects exactly the tasks it lost
 *   (`WorkerLostError`) and is replaced (in an elastic pool, if the work still wants it); workers
 *   that keep dying while starting break the pool, and its work rejects with that error. A send is made
 *   after the call that submitted its tasks returned: whatever it throws (a function or a value that
 *   cannot go to this worker) rejects the tasks it carried (`#post`), and the pool goes on.
 * - A task with a `timeout` or an abort `signal` runs alone on its worker, so stopping it means
 *   terminating that worker without harming other tasks. Its promise rejects only once that worker
 *   has exited: when the caller goes on, the task's thread is really gone (and whatever it held, such
 *   as a lock, is held by a dead thread, which the lock can then detect). An `interruptible` task
 *   (the cluster worker's) is pipelined with others instead; stopping it stops its worker all the same,
 *   and the other tasks that worker held are queued again rather than lost.
 * - `close()` waits for every hold (an `imap` still reading its input) besides the queued work; after
 *   `terminate()`, a task submitted late rejects at once instead of waiting in a queue nobody serves.
 * - Tasks submitted in one turn go out together: dispatch runs in a microtask after a submit, and at
 *   once after results or an exit.
 * - Metrics (`stats.ts`) cost a clock read per turn of submissions, per dispatch round and per batch of
 *   results, not per task: tasks submitted in one turn share their `queuedAt`, and their wait times are
 *   recorded together. A task waits until it starts: as soon as it is sent if its worker is ready and
 *   has a free place, when the worker says it is ready, or when results show that a place freed for it (the first `concurrentTasksPerWorker` tasks
 *   a worker holds are running); one that started and finished between two batches of results started
 *   when its batch began (the batch's arrival less its run time).
 * - How many workers: before each dispatch, workers start until there is one per unfinished task
 *   (queued or in flight; one per `concurrentTasksPerWorker` of them when workers run several at once),
 *   at least `minProcesses` and at most `processes` (`#grow`). A fixed pool
 *   (`minProcesses` = `processes`, the default) thus starts all its workers at once, with the pool, and
 *   replaces each one that leaves; an elastic one starts them as tasks wait, down to none, and
 *   `workers.ts` retires those that stay idle. A pool shrunk to zero starts a worker for the next task.
 *   A worker that cannot be started at all (`execArgv` a thread refuses, initargs that cannot be
 *   cloned) breaks the pool, with that error; with workers started at once, the constructor throws it.
 */
import { startTimer } from '../timeout.js';
import { whenAborted } from '../abort.js';
import { TimeoutError } from '../errors.js';
import { chunkUncloneableError, threadOnlyMemoryError, uncloneableError } from '../transport/payload.js';
import { isThreadOnlyMemoryError } from '../runtime/process/segments.js';
import type { SerializedThrow } from '../transport/remote-error.js';
import { loadThrownClasses, unpackNow, unpackThrown } from '../transport/unpack.js';
import { Dispatcher, type Entry } from './dispatch.js';
import type { Executor, ExecutorSettings, ScheduledTask, Transferred } from './executor.js';
import { Workers, type DoneMessage, type PoolWorker, type WorkersOptions } from './workers.js';
import { Meter, type PoolStats } from './stats.js';
import { Outcome, TaskMode, type ChunkOutcome, type ToWorker, type WireTask } from './protocol.js';
import type { WireFunction } from '../transport/wire-function.js';

/**
 * The local executor's settings: the pool's, and what only workers on this machine understand (how
 * they start, their env, argv, execArgv, memory limits and names).
 */
export interface SchedulerOptions extends ExecutorSettings, Omit<WorkersOptions, keyof ExecutorSettings> {}

export class Scheduler implements Executor {
  readonly #processes: number;
  readonly #minProcesses: number;
  readonly #dispatcher: Dispatcher<PoolWorker>;
  readonly #workers: Workers;
  #broken: unknown;
  #closing = false;
  /** Things that will still submit work after `close()` (imaps reading their input). */
  #holds = 0;
  #terminated: Error | undefined;
  #dispatchQueued = false;
  /** When the tasks of this turn were submitted (read by the first submit of a turn). */
  #turnStamp = 0;
  /** When the current dispatch round started: tasks sent in it to a free place stop waiting then. */
  #roundStamp = 0;
  /** `#roundStamp` was read in this round (it is read once something is sent). */
  #stamped = false;
  /** Tasks one worker may run at once (`concurrentTasksPerWorker`). */
  readonly #atOnce: number;
  readonly #meter = new Meter();
  /** `drained()` calls waiting for the queue to hold fewer than `limit` tasks. */
  #roomWaiters: { readonly limit: number; readonly resolve: () => void }[] = [];
  readonly #allExited: Promise<void>;
  #resolveAllExited!: () => void;

  constructor(options: SchedulerOptions) {
    this.#processes = options.processes;
    this.#minProcesses = options.minProcesses;
    this.#atOnce = options.concurrentTasksPerWorker;
    this.#dispatcher = new Dispatcher(options.maxTasksPerChild, (pw, batch) => this.#send(pw, batch), this.#atOnce);
    this.#workers = new Workers({ ...options, concurrency: this.#atOnce }, {
      done: (pw, message) => this.#onDone(pw, message),
      ready: (pw) => this.#recordStarts(pw, performance.now()),
      exited: (pw, code) => this.#onExit(pw, code),
    });
    this.#allExited = new Promise((resolve) => (this.#resolveAllExited = resolve));
    for (let i = 0; i < options.minProcesses; i++) this.#workers.spawn();
    this.#workers.reference(false);
  }

  get broken(): unknown {
    return this.#broken;
  }

  get size(): number {
    return this.#workers.size;
  }

  get queued(): number {
    return this.#waiting();
  }

  /**
   * Tasks waiting for a worker: those queued beyond what the workers can start at once (each worker
   * runs `concurrentTasksPerWorker` tasks; what is in flight takes its share). Tasks submitted in one
   * turn are queued until the dispatch at its end, and those that a free worker will start then are
   * not waiting, as piscina's `maxQueue` counts.
   */
  #waiting(): number {
    const free = this.#processes * this.#atOnce - this.#dispatcher.inflight;
    return Math.max(0, this.#dispatcher.pending - Math.max(0, free));
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
    if (!this.#dispatchQueued) this.#turnStamp = performance.now();
    const entry = this.#dispatcher.enqueue(task, this.#turnStamp);
    if (signal !== undefined) entry.unlisten = whenAborted(signal, () => this.#stop(entry, signal.reason));
    this.#workChanged();
    this.#queueDispatch();
  }

  close(): void {
    this.#closing = true;
    this.#retireIfIdle();
  }

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

  async terminate(error: Error): Promise<void> {
    this.#closing = true;
    this.#terminated = error;
    this.#failAll(error);
    const stopping: Promise<void>[] = [];
    for (const pw of this.#workers) stopping.push(this.#workers.stop(pw));
    // An elastic pool may have no worker left to exit.
    if (this.#workers.size === 0) this.#resolveAllExited();
    await Promise.all(stopping);
    await this.#allExited;
  }

  joined(): Promise<void> {
    return this.#allExited;
  }

  drained(limit: number): Promise<void> {
    if (this.#waiting() < limit) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ limit, resolve }));
  }

  stats(): PoolStats {
    let busy = 0;
    for (const pw of this.#workers) if (pw.inflight.size > 0) busy += 1;
    const total = this.#workers.size;
    const meter = this.#meter;
    return {
      workers: { total, busy, idle: total - busy },
      queued: this.#waiting(),
      running: this.#dispatcher.inflight,
      completed: meter.completed,
      failed: meter.failed,
      runTime: meter.runTime.summary(),
      waitTime: meter.waitTime.summary(),
      utilization: meter.utilization(this.#processes * this.#atOnce),
    };
  }

  // ---- sending ----------------------------------------------------------------------------------

  #queueDispatch(): void {
    if (this.#dispatchQueued) return;
    this.#dispatchQueued = true;
    queueMicrotask(() => {
      this.#dispatchQueued = false;
      this.#dispatch();
    });
  }

  #dispatch(now?: number): void {
    this.#stamped = now !== undefined;
    if (now !== undefined) this.#roundStamp = now;
    this.#grow();
    this.#dispatcher.dispatch(this.#workers);
    // Once nothing is queued, tasks sent ahead move to workers with a free place (dispatch.ts).
    const robbed = this.#dispatcher.steal(this.#workers);
    if (robbed !== undefined) for (const pw of robbed) if (pw.inflight.size === 0) this.#workers.idle(pw);
  }

  /** Starts workers up to one per unfinished task, within `minProcesses`…`processes` (module header). */
  #grow(): void {
    if (this.#terminated !== undefined || this.#broken !== undefined || !this.#wanted()) return;
    const unfinished = this.#dispatcher.pending + this.#dispatcher.inflight;
    const wanted = Math.min(this.#processes, Math.max(this.#minProcesses, Math.ceil(unfinished / this.#atOnce)));
    try {
      while (this.#workers.active < wanted) this.#workers.spawn();
    } catch (error) {
      this.#break(error);
    }
  }

  // The dispatcher's sink: sends one batch to `pw`. Never throws: a send that fails settles the tasks
  // it carried (`#post`), and the worker and the pool go on.
  #send(pw: PoolWorker, batch: Entry[]): void {
    this.#workers.busy(pw);
    const sent = this.#runTasks(pw, this.#defineFunctions(pw, batch));
    this.#dispatcher.sent(pw, sent);
    if (!this.#stamped) {
      this.#roundStamp = performance.now();
      this.#stamped = true;
    }
    this.#recordStarts(pw, this.#roundStamp);
    for (const entry of sent) {
      const timeout = entry.task.timeout;
      if (timeout !== undefined) {
        entry.timer = startTimer(
          () => this.#stop(entry, new TimeoutError(`the task did not finish within its timeout of ${timeout} ms`)),
          timeout,
        );
      }
    }
    this.#workChanged();
    // Tasks that failed to go took room in this round that no result will give back: another round
    // sends what is still queued, and a closed pool left with nothing to do retires its workers.
    if (sent.length < batch.length) {
      this.#queueDispatch();
      this.#retireIfIdle();
    }
  }

  /**
   * Defines on `pw` each function of `batch` it does not know yet (once per worker). A function that
   * cannot be sent there fails its tasks with why; the tasks left to send are returned.
   */
  #defineFunctions(pw: PoolWorker, batch: Entry[]): Entry[] {
    let refused: Map<number, unknown> | undefined;
    for (const entry of batch) {
      const id = entry.fnId;
      if (pw.known.has(id) || refused?.has(id)) continue;
      const fn = this.#dispatcher.functionAt(id);
      const failed = this.#post(pw, { type: 'define', id, fn });
      if (failed === undefined) pw.known.add(id);
      else (refused ??= new Map()).set(id, functionSendError(fn, failed.error));
    }
    if (refused === undefined) return batch;
    const rest: Entry[] = [];
    for (const entry of batch) {
      const error = refused.get(entry.fnId);
      if (error === undefined) rest.push(entry);
      else this.#fail(entry, error);
    }
    return rest;
  }

  /**
   * Sends `batch` to run, in one message; if that cannot be sent, one task per message, and only the
   * tasks whose own message fails fail. Returns the tasks sent.
   */
  #runTasks(pw: PoolWorker, batch: Entry[]): Entry[] {
    if (batch.length === 0) return batch;
    let transfer: Transferred[] | undefined;
    for (const entry of batch) if (entry.task.transfer) (transfer ??= []).push(...entry.task.transfer);
    const failed = this.#post(pw, { type: 'run', tasks: batch.map(toWire) }, transfer);
    if (failed === undefined) return batch;
    const sent: Entry[] = [];
    for (const entry of batch) {
      const alone =
        batch.length === 1 ? failed : this.#post(pw, { type: 'run', tasks: [toWire(entry)] }, entry.task.transfer as Transferred[] | undefined);
      if (alone === undefined) sent.push(entry);
      else this.#fail(entry, taskSendError(entry.task, alone.error));
    }
    return sent;
  }

  /**
   * The one place the executor sends to a worker: what the send threw, if it threw (then nothing was
   * sent). Sends happen after the call that submitted the task has returned (in a dispatch round), so
   * whatever one throws belongs to the tasks it carried, never to the program.
   */
  #post(pw: PoolWorker, message: ToWorker, transfer?: Transferred[]): { readonly error: unknown } | undefined {
    try {
      this.#workers.post(pw, message, transfer);
      return undefined;
    } catch (error) {
      return { error };
    }
  }

  // ---- results ----------------------------------------------------------------------------------

  #onDone(pw: PoolWorker, message: DoneMessage): void {
    // After terminate() (or once the pool is broken) every task was already settled and the in-flight
    // lists emptied: results still on their way from a worker are dropped.
    if (this.#terminated !== undefined || this.#broken !== undefined) return;
    this.#dispatcher.recordBusy(message.busyMs, message.results.length);
    this.#meter.ran(message.busyMs, message.results.length);
    // Some answers (a block of numbers, a failure to send) come without their time: unknown, not 0.
    const ranMs = message.busyMs > 0 ? message.busyMs / message.results.length : undefined;
    const now = performance.now();
    // Tasks that started and finished since the last batch (their wait not yet recorded) started at the
    // latest when this batch's work began; those submitted together are recorded together.
    const batchStart = now - message.busyMs;
    let queuedAt = 0;
    let unrecorded = 0;
    for (const [id, outcome, value, live] of message.results) {
      const entry = this.#dispatcher.completed(pw, id);
      if (!entry.waited) {
        entry.waited = true;
        if (unrecorded > 0 && entry.queuedAt !== queuedAt) {
          this.#meter.waitTime.add(batchStart - queuedAt, unrecorded);
          unrecorded = 0;
        }
        queuedAt = entry.queuedAt;
        unrecorded += 1;
      }
      if (entry.done) continue;
      this.#finish(entry);
      if (outcome === Outcome.Ok) this.#meter.completed += 1;
      else this.#meter.failed += 1;
      // An error of a class of the program's is delivered once this thread has its class, as a result
      // holding an instance of one is (deliverLive). A result that succeeded allocates nothing here: with
      // 200,000 tasks in flight, a closure per result showed up as garbage-collector time (W1b).
      const classes = outcome === Outcome.Ok ? undefined : thrownClasses(outcome, value);
      if (classes === undefined) deliverOutcome(entry.task, outcome, value, live, ranMs);
      else void classes.then(() => deliverOutcome(entry.task, outcome, value, live, ranMs));
    }
    if (unrecorded > 0) this.#meter.waitTime.add(batchStart - queuedAt, unrecorded);
    // The places these results freed: the tasks behind them start now.
    this.#recordStarts(pw, now);
    // A spent worker's replacement, if one is wanted, is started by the dispatch below.
    if (this.#dispatcher.spent(pw) && !pw.leaving) this.#workers.retire(pw);
    else if (pw.inflight.size === 0) this.#workers.idle(pw);
    this.#workChanged();
    this.#retireIfIdle();
    this.#dispatch(now);
  }

  #finish(entry: Entry): void {
    entry.done = true;
    entry.timer?.cancel();
    entry.unlisten?.();
  }

  /** Settles a task that could not finish with `error`. */
  #fail(entry: Entry, error: unknown): void {
    this.#finish(entry);
    this.#meter.failed += 1;
    entry.task.onError(error);
  }

  /**
   * The tasks `pw` runs now (the first `concurrentTasksPerWorker` it holds) stop waiting at `now`, those
   * whose wait is not yet recorded; the ones behind them still wait.
   */
  #recordStarts(pw: PoolWorker, now: number): void {
    if (!pw.started) return;
    const running = Math.min(this.#atOnce, pw.inflight.size);
    for (let i = 0; i < running; i++) {
      const entry = pw.inflight.at(i)!;
      if (entry.waited) continue;
      entry.waited = true;
      this.#meter.waitTime.add(now - entry.queuedAt);
    }
  }

  /** Stops a task that may be queued or running (abort, timeout). */
  #stop(entry: Entry, reason: unknown): void {
    if (entry.done) return;
    this.#finish(entry);
    this.#meter.failed += 1;
    const pw = this.#dispatcher.runningAlone(entry, this.#workers);
    if (pw !== undefined) {
      // Running alone on its worker: stopping it means stopping the worker, and the task rejects once
      // the worker has exited (#onExit), so that the caller never goes on beside a thread still running.
      void this.#workers.stop(pw, () => entry.task.onError(reason));
      return;
    }
    const holder = entry.task.interruptible === true ? this.#dispatcher.holding(entry, this.#workers) : undefined;
    if (holder !== undefined) {
      // In a worker beside other tasks (`interruptible`): the worker is stopped all the same, and the
      // other tasks it held run again elsewhere (#onExit).
      holder.interrupted = true;
      void this.#workers.stop(holder, () => entry.task.onError(reason));
      return;
    }
    // Still queued: it is skipped when reached.
    this.#dispatcher.forget(entry);
    entry.task.onError(reason);
    this.#workChanged();
    this.#retireIfIdle();
  }

  // ---- workers ----------------------------------------------------------------------------------

  #onExit(pw: PoolWorker, code: number): void {
    // Tasks stopped by terminating this worker (timeout, abort): it is gone now, so they may reject.
    for (const settle of pw.stopped.splice(0)) settle();
    const held = this.#dispatcher.release(pw);
    const serving = this.#terminated === undefined && this.#broken === undefined;
    const verdict = pw.interrupted === true && serving ? { retry: held, lost: [] } : this.#workers.judgeExit(pw, code, held, serving);
    this.#dispatcher.requeue(verdict.retry);
    if (verdict.broken !== undefined) this.#break(verdict.broken);
    for (const entry of verdict.lost) this.#fail(entry, this.#workers.lostError(pw, code));
    this.#workChanged();
    this.#retireIfIdle();
    if (this.#workers.size === 0 && (this.#closing || this.#broken !== undefined)) this.#resolveAllExited();
    // Starts its replacement, if one is wanted.
    this.#dispatch();
  }

  /** From now on every task fails with `error`, the ones submitted so far included. */
  #break(error: unknown): void {
    this.#broken = error;
    this.#failAll(error);
    if (this.#workers.size === 0) this.#resolveAllExited();
  }

  /** Whether workers are still wanted: not closed, or closed with work queued or still to come. */
  #wanted(): boolean {
    return !this.#closing || this.#dispatcher.pending > 0 || this.#holds > 0;
  }

  #failAll(error: unknown): void {
    for (const entry of this.#dispatcher.takeAll(this.#workers)) this.#fail(entry, error);
    this.#workChanged();
  }

  #retireIfIdle(): void {
    if (!this.#closing || this.#dispatcher.pending > 0 || this.#dispatcher.inflight > 0) return;
    if (this.#holds > 0 && this.#terminated === undefined && this.#broken === undefined) return;
    for (const pw of this.#workers) if (!pw.leaving) this.#workers.retire(pw);
    if (this.#workers.size === 0) this.#resolveAllExited();
  }

  // Workers keep the program alive only while there is work.
  // Also where the queue shrinks: `drained()` calls waiting for room are answered here.
  #workChanged(): void {
    this.#workers.reference(this.#dispatcher.pending + this.#dispatcher.inflight > 0);
    if (this.#roomWaiters.length > 0) this.#answerRoomWaiters();
  }

  #answerRoomWaiters(): void {
    const waiting = this.#waiting();
    const still = this.#roomWaiters.filter((waiter) => waiting >= waiter.limit);
    if (still.length === this.#roomWaiters.length) return;
    for (const waiter of this.#roomWaiters) if (waiting < waiter.limit) waiter.resolve();
    this.#roomWaiters = still;
  }
}

function toWire(entry: Entry): WireTask {
  const { mode, data, live, base } = entry.task;
  return base === undefined ? [entry.id, entry.fnId, mode, data, live] : [entry.id, entry.fnId, mode, data, live, base];
}

function deliverOutcome(task: ScheduledTask, outcome: Outcome, value: unknown, live: boolean | undefined, ranMs: number | undefined): void {
  if (outcome === Outcome.Failed) task.onResult(outcome, unpackThrown(value as SerializedThrow), ranMs);
  else if (live === true) deliverLive(task, outcome, value);
  else task.onResult(outcome, value, ranMs);
}

/** The classes the errors of a failed task (or chunk) carry, loaded; undefined when this thread has them. */
function thrownClasses(outcome: Outcome, value: unknown): Promise<void> | undefined {
  if (outcome === Outcome.Failed) return loadThrownClasses([value as SerializedThrow]);
  if (outcome === Outcome.Partial) return loadThrownClasses((value as ChunkOutcome).errors.map(([, error]) => error));
  return undefined;
}

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

function isCloneError(error: unknown): boolean {
  return error instanceof Error && error.name === 'DataCloneError';
}

// What a send of a task's data threw, as that task's error. A value that cannot be cloned, or memory a
// 'process' worker cannot map, is named by its path from the caller's point of view: `args[0].a` for
// `apply`, `iterable[17].b` (the index in the whole input) for a `map` chunk. Anything else as thrown.
function taskSendError(task: ScheduledTask, cause: unknown): unknown {
  const path = task.mode === TaskMode.Apply ? 'args' : 'iterable';
  const chunk = task.mode !== TaskMode.Apply && Array.isArray(task.data);
  if (isThreadOnlyMemoryError(cause)) return threadOnlyMemoryError({ [path]: task.data }, cause, chunk ? (task.base ?? 0) : undefined);
  if (!isCloneError(cause)) return cause;
  return chunk ? chunkUncloneableError(task.data as unknown[], task.base ?? 0, path, cause) : uncloneableError(task.data, path, cause);
}

// What a send of a function (`define`) threw, as the error of the tasks that call it: memory a 'process'
// worker cannot map among its constants names the constant (`fn's constant lock`).
function functionSendError(fn: WireFunction, cause: unknown): unknown {
  if (isThreadOnlyMemoryError(cause)) return threadOnlyMemoryError({ fn }, cause);
  return isCloneError(cause) ? uncloneableError(fn, 'fn', cause) : cause;
}
