/**
 * The cluster executor: what runs a distributed `Pool`'s tasks (the seam is `pool/executor.ts`; the
 * local scheduler is the other executor). Tasks become BullMQ jobs; worker commands on any machine run
 * them on their local pools and push results to this pool's result list.
 *
 * - In flight: at most `processes` tasks at once; the rest wait here, in priority order (`PendingQueue`,
 *   as the local pool), and are added in one `addBulk` per round. So `terminate()` has little to
 *   remove, and a `map` over a million items never writes a million jobs.
 * - Tiny tasks travel in bundles: a job costs about 0.2 ms of CPU between driver, Redis and worker (the
 *   BullMQ add, fetch and completion, the result's way back), far more than a `cube`. So `apply` tasks
 *   of one function taken in one round share a job, as many as make about `bundling.workMs` of work by the
 *   run time the workers report for that function (one task per job until they have reported, so a
 *   function of long tasks never piles onto one machine on the strength of another's tiny ones; never
 *   more than `MAX_BUNDLE` tasks or about `BUNDLE_BYTES`). A bundle is leased, re-run after a lost worker and failed after a second
 *   loss as a whole, like a `map` chunk; each of its tasks still has its own result, timeout and cancel.
 *   `map` chunks are bundles already, and travel one per job. Measured (W10-apply, 20,000 `cube`s,
 *   2 worker processes, 2 shared cores, medians of 5): 0.55–0.68× BullMQ's own rate of tiny jobs with a
 *   job per task, 1.0–1.9× with bundles (the ratio swings with the machine's load); CPU per task
 *   (driver, Redis and workers) from about 280 µs to 115 µs.
 * - Results come from a list of this pool's own (`BLPOP`, then `LPOP` of up to `READ_BATCH`), never
 *   from BullMQ's event stream, which is trimmed. A task settles once: a result for a task already
 *   settled (a chunk re-run after its worker was lost, or one aborted) is dropped by its id.
 * - Reconciliation, every `SWEEP_INTERVAL` while jobs are out: Redis's `run_id` (a new one means Redis
 *   restarted and lost every job: they reject with `BackendLostError`), then each job's state: `failed`
 *   is BullMQ's verdict after a second lost lease (`WorkerLostError`); a job gone without its results
 *   twice in a row was lost (`BackendLostError`). Redis unreachable for `UNREACHABLE_LIMIT` rejects
 *   every outstanding task the same way: no promise waits on an outage forever.
 * - No worker: workers show themselves alive in one key (`workerSeenKey`), checked at each reconciliation.
 *   A task's `timeout` counts from its start, as locally, so on a cluster of busy workers it waits its
 *   turn; but while no worker serves the namespace a task would wait forever (a namespace typo looks
 *   like a hang), so then its `timeout` counts from its submission (or from when the last worker was
 *   seen) and it rejects with `TimeoutError` naming the namespace and the command that serves it.
 *   Without a timeout it waits (workers may start after their driver), and after `noWorker.noticeMs`
 *   the pool says so once on stderr.
 * - Stopping: an aborted signal or `terminate()` settles at once, removes the waiting jobs whose tasks
 *   are all stopped and publishes the tasks on the cancel channel, where every worker stops the ones it
 *   runs.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BackendLostError, TimeoutError, WorkerLostError } from '../errors.js';
import type { Executor, ScheduledTask } from '../pool/executor.js';
import { keyOf, PendingQueue } from '../pool/pending.js';
import { Outcome } from '../pool/protocol.js';
import { Meter, type PoolStats } from '../pool/stats.js';
import { deserializeThrown } from '../transport/remote-error.js';
import { decode, encode, open, seal } from './codec.js';
import { connect, runIdOf, type Keys, type RedisTarget } from './connection.js';
import { peer } from './peers.js';
import {
  bundleBody,
  cancelToken,
  readResultEntry,
  resultPurpose,
  taskPurpose,
  TASKS_QUEUE,
  workerSeenKey,
  type Envelope,
  type JobData,
  type ResultBody,
} from './protocol.js';
import { taskNameOf, type TaskName } from './task-name.js';
import { workerCommand } from './worker-command.js';

/** How often outstanding jobs are reconciled with Redis (see the module header). */
const SWEEP_INTERVAL = 1_000;
/** How long Redis may stay unreachable before every outstanding task rejects with `BackendLostError`. */
export const UNREACHABLE_LIMIT = 10_000;
/** Result entries read at once after a `BLPOP` wakes. */
const READ_BATCH = 1_000;
/** Seconds a result list lives after its last write, for a driver that died without cleaning up. */
const RESULT_TTL = 3_600;
/**
 * A bundle of tiny tasks carries about `workMs` of work (see the module header). Not public: tests set
 * `workMs` high so that the bundles of their tiny tasks do not depend on how loaded the machine is.
 */
export const bundling = { workMs: 1 };
const MAX_BUNDLE = 32;
/** A bundle's encoded tasks stop growing past this many bytes (one task may carry more). */
const BUNDLE_BYTES = 64 * 1024;
/**
 * How long tasks wait with no worker serving the namespace before the pool says so on stderr (once).
 * Not public: tests shorten it.
 */
export const noWorker = { noticeMs: 10_000 };

export interface ClusterSettings {
  readonly target: RedisTarget;
  readonly keys: Keys;
  /** Jobs in flight at once. */
  readonly processes: number;
  readonly authkey: Buffer | undefined;
}

interface Entry {
  readonly id: number;
  readonly key: number;
  readonly task: ScheduledTask;
  readonly function: TaskFunction;
  readonly submittedAt: number;
  settled: boolean;
  /** The job it travels in, once added to BullMQ (so there is a job to remove, and a state to check). */
  job: Job | undefined;
  unlisten: (() => void) | undefined;
}

/** A function this pool has run tasks of. */
interface TaskFunction {
  /** Named on first use (naming may fail: that task fails). */
  name: TaskName | undefined;
  /** Its `apply` tasks' run time as the workers report it, averaged (ms); sizes its bundles. */
  averageMs: number | undefined;
}

/** A BullMQ job of this pool: one task, or a bundle of tiny ones. */
interface Job {
  readonly id: string;
  readonly entries: readonly Entry[];
  /** It was missing at the last reconciliation. */
  missing: boolean;
}

type BulkJob = { name: string; data: JobData; opts: { jobId: string; removeOnComplete: true; removeOnFail: { age: number } } };

interface Backend {
  readonly command: Redis;
  readonly blocking: Redis;
  readonly queue: Queue;
}

function noop(): void {}

/** The jobs that `entries` travel in, each once. */
function jobsOf(entries: Iterable<Entry>): Set<Job> {
  const jobs = new Set<Job>();
  for (const entry of entries) if (entry.job !== undefined) jobs.add(entry.job);
  return jobs;
}

/** `apply` tasks of `fn` per job now: about `bundling.workMs` of work, one until the workers have reported. */
function bundleSize(fn: TaskFunction): number {
  if (fn.averageMs === undefined) return 1;
  return Math.max(1, Math.min(MAX_BUNDLE, Math.floor(bundling.workMs / Math.max(fn.averageMs, 1e-3))));
}

/** How the cancel channel names an entry's task. */
function tokenOf(entry: Entry): string {
  return cancelToken(entry.job!.id, entry.id);
}

export class ClusterExecutor implements Executor {
  readonly #settings: ClusterSettings;
  readonly #poolId = randomBytes(6).toString('hex');
  readonly #resultKey: string;
  readonly #cancelChannel: string;
  readonly #backend: Promise<Backend>;
  #ready: Backend | undefined;
  #runId = '';
  #broken: unknown;
  #terminated: Error | undefined;
  #closing = false;
  #shutDown = false;
  #holds = 0;
  #nextId = 0;
  /** Tasks submitted and not settled (queued here, or out as jobs). */
  #unsettled = 0;
  /** When `#unsettled` last rose from 0. */
  #busySince = 0;
  /** When a worker of the namespace was last seen alive (`performance.now()`), if ever. */
  #workerSeenAt: number | undefined;
  #noticed = false;
  /** The unsettled tasks with a finite `timeout` (see "No worker" in the module header). */
  readonly #timed = new Set<Entry>();
  readonly #pending = new PendingQueue<Entry>();
  readonly #outstanding = new Map<number, Entry>();
  #adding = false;
  #pumpQueued = false;
  #reading = false;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #downSince: number | undefined;
  #reconciling = false;
  readonly #meter = new Meter();
  /** By module and export. */
  readonly #functions = new Map<string, TaskFunction>();
  #roomWaiters: { readonly limit: number; readonly resolve: () => void }[] = [];
  readonly #joined: Promise<void>;
  #resolveJoined!: () => void;

  constructor(settings: ClusterSettings) {
    this.#settings = settings;
    this.#resultKey = settings.keys.key('res', this.#poolId);
    this.#cancelChannel = settings.keys.key('cancel');
    this.#joined = new Promise((resolve) => (this.#resolveJoined = resolve));
    this.#backend = this.#open();
    this.#backend.then(
      (backend) => {
        this.#ready = backend;
        this.#pump();
      },
      (error: unknown) => {
        this.#broken = error;
        this.#failAll(error);
        this.#settleIfIdle();
      },
    );
  }

  async #open(): Promise<Backend> {
    const { target, keys } = this.#settings;
    const command = await connect(target, 'command', `mp-driver:${this.#poolId}`);
    try {
      const blocking = await connect(target, 'blocking', `mp-driver-results:${this.#poolId}`);
      const { Queue } = await peer<typeof import('bullmq')>('bullmq');
      const queue = new Queue(TASKS_QUEUE, { connection: command, prefix: keys.prefix });
      queue.on('error', noop);
      this.#runId = await runIdOf(command);
      // A reconnection opens a new socket: it keeps the program alive only if work is out (see #reference).
      for (const connection of [command, blocking]) connection.on('connect', () => this.#reference(this.#unsettled > 0));
      const backend = { command, blocking, queue };
      this.#ready = backend;
      this.#reference(this.#unsettled > 0);
      return backend;
    } catch (error) {
      command.disconnect();
      throw error;
    }
  }

  get broken(): unknown {
    return this.#broken;
  }

  /** Jobs this pool may have out at once (the cluster's own size is the sum of its workers' slots). */
  get size(): number {
    return this.#shutDown ? 0 : this.#settings.processes;
  }

  get queued(): number {
    return this.#unsettled - this.#outstanding.size;
  }

  submit(task: ScheduledTask): void {
    const refusal = this.#terminated ?? this.#broken;
    if (refusal !== undefined) return task.onError(refusal);
    if (task.signal?.aborted) return task.onError(task.signal.reason);
    const id = ++this.#nextId;
    const entry: Entry = {
      id,
      key: keyOf(id, task.priority ?? 0),
      task,
      function: this.#functionOf(task),
      submittedAt: performance.now(),
      settled: false,
      job: undefined,
      unlisten: undefined,
    };
    const signal = task.signal;
    if (signal !== undefined) {
      const onAbort = (): void => this.#stop([entry], signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      entry.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.#unsettled += 1;
    if (this.#unsettled === 1) {
      this.#busySince = entry.submittedAt;
      this.#reference(true);
    }
    if (task.timeout !== undefined && task.timeout !== Infinity) this.#timed.add(entry);
    this.#pending.push(entry);
    // Tasks submitted in one turn go out together (in one `addBulk`, in bundles when they are tiny).
    if (!this.#pumpQueued) {
      this.#pumpQueued = true;
      queueMicrotask(() => {
        this.#pumpQueued = false;
        this.#pump();
      });
    }
  }

  drained(limit: number): Promise<void> {
    if (this.queued < limit || this.#terminated !== undefined || this.#broken !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ limit, resolve }));
  }

  stats(): PoolStats {
    const meter = this.#meter;
    const total = this.size;
    const busy = Math.min(total, this.#outstanding.size);
    return {
      workers: { total, busy, idle: total - busy },
      queued: this.queued,
      running: this.#outstanding.size,
      completed: meter.completed,
      failed: meter.failed,
      runTime: meter.runTime.summary(),
      waitTime: meter.waitTime.summary(),
      utilization: meter.utilization(this.#settings.processes),
    };
  }

  close(): void {
    this.#closing = true;
    this.#settleIfIdle();
  }

  hold(): () => void {
    this.#holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      this.#settleIfIdle();
    };
  }

  async terminate(error: Error): Promise<void> {
    if (this.#terminated === undefined) {
      this.#terminated = error;
      const out = [...this.#outstanding.values()].filter((entry) => entry.job !== undefined);
      this.#failAll(error);
      const backend = await this.#backend.catch(() => undefined);
      if (backend !== undefined && out.length > 0) {
        // Waiting jobs are removed; running ones (locked by their worker) are stopped by their worker.
        await Promise.all([...jobsOf(out)].map((job) => backend.queue.remove(job.id).catch(noop)));
        await backend.command.publish(this.#cancelChannel, out.map(tokenOf).join(' ')).catch(noop);
      }
      await this.#shutdown();
    }
    return this.#joined;
  }

  joined(): Promise<void> {
    return this.#joined;
  }

  // ---- sending ----------------------------------------------------------------------------------

  #pump(): void {
    const backend = this.#ready;
    if (backend === undefined || this.#adding || this.#terminated !== undefined) return;
    const room = this.#settings.processes - this.#outstanding.size;
    const batch: BulkJob[] = [];
    const entries: Entry[] = [];
    // The bundle being filled: `apply` tasks of one function (a chunk travels alone).
    let bundle: Entry[] = [];
    let parts: Buffer[] = [];
    let bytes = 0;
    const addJob = (): void => {
      if (bundle.length === 0) return;
      const job: Job = { id: `${this.#poolId}-${bundle[0]!.id}`, entries: bundle, missing: false };
      const frame = seal(this.#settings.authkey, taskPurpose(this.#settings.keys), bundleBody(parts));
      const data: JobData = { r: this.#resultKey, i: bundle.map((entry) => entry.id), f: frame.toString('base64') };
      for (const entry of bundle) entry.job = job;
      // Failed jobs stay a while: a job failed after two lost leases is read by `#reconcile`.
      batch.push({ name: 'task', data, opts: { jobId: job.id, removeOnComplete: true, removeOnFail: { age: RESULT_TTL } } });
      bundle = [];
      parts = [];
      bytes = 0;
    };
    const now = performance.now();
    while (entries.length < room && this.#pending.size > 0) {
      const entry = this.#pending.shift()!;
      if (entry.settled) continue;
      let part: Buffer;
      try {
        part = this.#encode(entry);
      } catch (error) {
        this.#settle(entry, () => entry.task.onError(error), false);
        continue;
      }
      this.#meter.waitTime.add(now - entry.submittedAt);
      this.#outstanding.set(entry.id, entry);
      entries.push(entry);
      const alone = entry.task.base !== undefined;
      if (
        bundle.length > 0 &&
        (alone || entry.function !== bundle[0]!.function || bundle.length >= bundleSize(entry.function) || bytes + part.length > BUNDLE_BYTES)
      ) {
        addJob();
      }
      bundle.push(entry);
      parts.push(part);
      bytes += part.length;
      if (alone) addJob();
    }
    addJob();
    this.#notifyRoom();
    if (batch.length === 0) return;
    this.#adding = true;
    this.#startReading(backend);
    backend.queue.addBulk(batch).then(
      () => {
        this.#adding = false;
        this.#pump();
      },
      (error: unknown) => {
        this.#adding = false;
        const lost = new BackendLostError(`could not add tasks to Redis at ${this.#settings.target.shown}: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
        });
        for (const entry of entries) this.#settle(entry, () => entry.task.onError(lost));
        this.#pump();
      },
    );
  }

  #functionOf(task: ScheduledTask): TaskFunction {
    // Only functions named by module reach a cluster (pool.ts); #encode refuses any other.
    const key = task.fn.by === 'module' ? `${String(task.fn.module)}#${task.fn.name}` : '';
    let known = this.#functions.get(key);
    if (known === undefined) {
      known = { name: undefined, averageMs: undefined };
      this.#functions.set(key, known);
    }
    return known;
  }

  /** A task's envelope, encoded (a part of its job's body). */
  #encode(entry: Entry): Buffer {
    const { task } = entry;
    if (task.fn.by !== 'module') throw new TypeError('internal: a distributed task must be named by module');
    const name = (entry.function.name ??= taskNameOf({ module: task.fn.module, name: task.fn.name }));
    const envelope: Envelope = {
      module: name.module,
      name: name.name,
      hash: name.hash,
      mode: task.mode,
      data: task.data,
      base: task.base,
      timeout: task.timeout,
    };
    return encode(envelope, task.base === undefined ? 'args' : 'iterable');
  }

  // ---- receiving --------------------------------------------------------------------------------

  #startReading(backend: Backend): void {
    if (this.#reading) return;
    this.#reading = true;
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => void this.#reconcile(backend), SWEEP_INTERVAL);
      this.#sweep.unref(); // the connections keep the program alive while tasks are out
    }
    void this.#read(backend);
  }

  async #read(backend: Backend): Promise<void> {
    while (this.#outstanding.size > 0 && !this.#shutDown) {
      let entries: Buffer[];
      try {
        const first = await backend.blocking.blpopBuffer(this.#resultKey, 1);
        if (first === null) continue;
        const more = await backend.blocking.lpopBuffer(this.#resultKey, READ_BATCH);
        entries = more === null ? [first[1]] : [first[1], ...(more as unknown as Buffer[])];
      } catch {
        // Disconnected: the blocking connection reconnects and queues the next BLPOP; reconciliation
        // decides what the outage means for the tasks.
        if (this.#shutDown) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      for (const entry of entries) this.#receive(entry);
    }
    this.#reading = false;
    if (this.#outstanding.size === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #receive(raw: Buffer): void {
    const { id, frame } = readResultEntry(raw);
    const entry = this.#outstanding.get(id);
    if (entry === undefined) return; // settled already: a re-run's second result, or stopped
    let body: ResultBody;
    try {
      body = decode(open(this.#settings.authkey, resultPurpose(this.#resultKey, id), frame, 'the result of a task')) as ResultBody;
    } catch (error) {
      this.#settle(entry, () => entry.task.onError(error));
      return;
    }
    const [outcome, value, ranMs] = body;
    this.#meter.ran(ranMs, 1);
    if (entry.task.base === undefined) {
      const average = entry.function.averageMs;
      entry.function.averageMs = average === undefined ? ranMs : average * 0.7 + ranMs * 0.3;
    }
    if (outcome === Outcome.Ok) this.#meter.completed += 1;
    else this.#meter.failed += 1;
    this.#settle(entry, () => entry.task.onResult(outcome, outcome === Outcome.Failed ? deserializeThrown(value as never) : value), false);
  }

  async #reconcile(backend: Backend): Promise<void> {
    // One at a time: checking many jobs on a slow Redis may take longer than the interval.
    if (this.#shutDown || this.#reconciling) return;
    this.#reconciling = true;
    try {
      await this.#checkJobs(backend);
    } finally {
      this.#reconciling = false;
    }
  }

  async #checkJobs(backend: Backend): Promise<void> {
    let runId: string;
    try {
      runId = await runIdOf(backend.command);
      this.#downSince = undefined;
    } catch (error) {
      const now = performance.now();
      this.#downSince ??= now;
      if (now - this.#downSince >= UNREACHABLE_LIMIT) {
        this.#lose(
          new BackendLostError(
            `Redis at ${this.#settings.target.shown} has been unreachable for ${Math.round((now - this.#downSince) / 1000)} s: ` +
              `this task may or may not have run, and its result cannot arrive. Submit it again once Redis is back`,
            { cause: error },
          ),
        );
      }
      return;
    }
    if (runId !== this.#runId) {
      this.#runId = runId;
      this.#lose(
        new BackendLostError(
          `Redis at ${this.#settings.target.shown} restarted without its data while this task was outstanding: it may or may not ` +
            `have run, and its result is lost. Submit it again (make side effects idempotent), and run Redis with persistence ` +
            `(appendonly yes) to keep tasks across restarts`,
        ),
      );
      return;
    }
    await this.#checkWorkers(backend);
    const jobs = [...jobsOf(this.#outstanding.values())];
    const states = await Promise.all(jobs.map((job) => backend.queue.getJobState(job.id).catch(() => 'error' as const)));
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const unsettled = job.entries.filter((entry) => !entry.settled);
      if (unsettled.length === 0) continue;
      const state = states[i];
      if (state === 'failed') {
        const failedJob = await backend.queue.getJob(job.id).catch(() => undefined);
        const error = new WorkerLostError(
          `the workers running this task were lost twice (${failedJob?.failedReason ?? 'its job failed'}): a task whose worker dies ` +
            `mid-task is run once more elsewhere, and rejected after a second loss`,
        );
        for (const entry of unsettled) {
          this.#meter.failed += 1;
          this.#settle(entry, () => entry.task.onError(error));
        }
        failedJob?.remove().catch(noop);
      } else if (state === 'unknown' || state === 'completed') {
        // A finished job's results are pushed before the job completes, so they are read by now;
        // missing twice in a row (a sweep apart) means the job is gone without them.
        if (job.missing) {
          for (const entry of unsettled) {
            this.#meter.failed += 1;
            this.#settle(entry, () =>
              entry.task.onError(new BackendLostError(`this task's job vanished from Redis at ${this.#settings.target.shown} without a result (removed, or lost by Redis)`)),
            );
          }
        } else job.missing = true;
      } else if (state !== 'error') job.missing = false;
    }
  }

  /** Whether a worker serves the namespace; if none does, what that means (see "No worker" in the module header). */
  async #checkWorkers(backend: Backend): Promise<void> {
    let seen: boolean;
    try {
      seen = (await backend.command.exists(workerSeenKey(this.#settings.keys))) === 1;
    } catch {
      return; // Redis unreachable: the run_id check decides what that means
    }
    const now = performance.now();
    if (seen) {
      this.#workerSeenAt = now;
      return;
    }
    const lastSeen = this.#workerSeenAt ?? -Infinity;
    for (const entry of [...this.#timed]) {
      const timeout = entry.task.timeout!;
      if (now - Math.max(entry.submittedAt, lastSeen) < timeout) continue;
      this.#meter.failed += 1;
      this.#stop([entry], new TimeoutError(`the task did not start within its timeout of ${timeout} ms: ${this.#noWorkerHere(entry)}`));
    }
    if (!this.#noticed && this.#unsettled > 0 && now - Math.max(this.#busySince, lastSeen) >= noWorker.noticeMs) {
      this.#noticed = true;
      const waiting = this.#unsettled === 1 ? '1 task is' : `${this.#unsettled} tasks are`;
      process.stderr.write(
        `multiprocessing: ${waiting} waiting, and for ${Math.round(noWorker.noticeMs / 1000)} s ${this.#noWorkerHere(this.#outstanding.values().next().value)}\n`,
      );
    }
  }

  /** Says that no worker serves this pool's namespace, and the command that starts one for `entry`'s module. */
  #noWorkerHere(entry: Entry | undefined): string {
    const { target, keys } = this.#settings;
    const module = entry?.function.name?.module ?? './dist/tasks.js';
    return (
      `no worker has served namespace '${keys.namespace}' at ${target.shown} (workers of another namespace never see ` +
      `these tasks). Start one: ${workerCommand(target.shown, keys.namespace, module)}`
    );
  }

  // ---- settling ---------------------------------------------------------------------------------

  /**
   * The connections keep the program alive only while tasks are unsettled: an idle pool, like the local
   * pool's idle workers, lets a program that never calls `close()` end.
   */
  #reference(on: boolean): void {
    const backend = this.#ready;
    if (backend === undefined) return;
    for (const connection of [backend.command, backend.blocking]) {
      if (on) connection.stream?.ref();
      else connection.stream?.unref();
    }
  }

  /** Settles `entry` once (`report` calls its callback), then sends more and checks for the end. */
  #settle(entry: Entry, report: () => void, pump = true): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.unlisten?.();
    if (this.#timed.size > 0) this.#timed.delete(entry);
    this.#outstanding.delete(entry.id);
    this.#unsettled -= 1;
    if (this.#unsettled === 0) this.#reference(false);
    report();
    if (pump) this.#pump();
    else queueMicrotask(() => this.#pump());
    this.#notifyRoom();
    this.#settleIfIdle();
  }

  /**
   * Stops tasks (an abort): they settle with `reason` now; a waiting job whose tasks are all stopped is
   * removed, and the running ones are cancelled (the other tasks of a bundle go on; a stopped task of a
   * bundle still waiting may run all the same, and its result is dropped).
   */
  #stop(entries: Entry[], reason: unknown): void {
    const out = entries.filter((entry) => entry.job !== undefined && !entry.settled);
    for (const entry of entries) this.#settle(entry, () => entry.task.onError(reason));
    const backend = this.#ready;
    if (backend === undefined || out.length === 0) return;
    for (const job of jobsOf(out)) if (job.entries.every((entry) => entry.settled)) void backend.queue.remove(job.id).catch(noop);
    void backend.command.publish(this.#cancelChannel, out.map(tokenOf).join(' ')).catch(noop);
  }

  /** Every outstanding job is lost (Redis restarted, or stayed unreachable): those tasks reject. */
  #lose(error: Error): void {
    for (const entry of [...this.#outstanding.values()]) {
      this.#meter.failed += 1;
      this.#settle(entry, () => entry.task.onError(error));
    }
  }

  #failAll(error: unknown): void {
    for (const entry of [...this.#outstanding.values(), ...this.#pending.drain()]) {
      if (!entry.settled) this.#settle(entry, () => entry.task.onError(error), false);
    }
  }

  #notifyRoom(): void {
    if (this.#roomWaiters.length === 0) return;
    const stopped = this.#terminated !== undefined || this.#broken !== undefined;
    const waiting = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const waiter of waiting) {
      if (stopped || this.queued < waiter.limit) waiter.resolve();
      else this.#roomWaiters.push(waiter);
    }
  }

  #settleIfIdle(): void {
    if ((this.#closing || this.#broken !== undefined) && this.#holds === 0 && this.#unsettled === 0 && !this.#adding) void this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    if (this.#shutDown) return;
    this.#shutDown = true;
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    const backend = await this.#backend.catch(() => undefined);
    if (backend !== undefined) {
      // An idle pool's connections do not keep the program alive (see #reference); while it closes them,
      // they must, or a program awaiting join() ends before join() settles (exit code 13).
      this.#reference(true);
      await backend.command.del(this.#resultKey).catch(noop);
      await backend.queue.close().catch(noop);
      backend.blocking.disconnect();
      backend.command.disconnect();
    }
    this.#resolveJoined();
  }
}
