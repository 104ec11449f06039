/**
 * A worker node of a distributed pool (what `multiprocessing worker` runs): it imports the modules it
 * is allowed to serve, runs a local pool of worker threads (the local executor, `pool/scheduler.ts`),
 * and lets BullMQ's `Worker` only hand it the jobs.
 *
 * - CPU work never runs on this event loop, so BullMQ keeps renewing the jobs' leases while tasks run
 *   (BullMQ's documented cause of stalled jobs is a busy event loop). BullMQ takes up to two jobs per
 *   process by default (`concurrency`), so a thread finds its next chunk here when it finishes one.
 * - Jobs arrive one Redis reply at a time; those of one turn of the event loop cross to the threads in
 *   one message, and their results go back to Redis in one pipeline (measured with tiny jobs, 100 at
 *   once: 1 job per thread message and per write before, about 35 after; the worker's CPU per job
 *   fell from about 100 µs to 72 µs).
 * - Before anything is decoded or imported, the frame's signature is checked (`codec.ts`); then the
 *   task must name an exported function of a module given with `--import`, with the same sha256 as the
 *   driver's file. Nothing else is ever imported on a driver's say-so.
 * - A task's outcome goes to its driver's result list, then the job completes: a task that throws is a
 *   completed job with an error result, never retried by BullMQ (Python does not retry either). Only a
 *   lost lease (this process died, or stalled past `lostTaskTimeout`) makes BullMQ run it again.
 * - A job carries one task or a bundle of tiny ones (the driver's choice): each runs as a task of the
 *   local pool, each result is written as soon as it is known, and the job completes once they all are.
 * - The cancel channel carries tasks to stop: the local task is aborted, which stops the thread that
 *   holds it (it is replaced); the other tasks that thread held run again (`interruptible`).
 */
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeValue, misuse, UnknownTaskError } from '../errors.js';
import type { ScheduledTask } from '../pool/executor.js';
import { Scheduler } from '../pool/scheduler.js';
import { Outcome, type TaskMode } from '../pool/protocol.js';
import { cpuCount } from '../runtime/cpu-count.js';
import { currentStartMethod } from '../runtime/start-methods.js';
import { importModule } from '../runtime/import-module.js';
import { pack } from '../transport/pack.js';
import { mayNeedPacking, type Packed } from '../transport/payload.js';
import { serializeThrown } from '../transport/remote-error.js';
import { checkAuthkey, decode, encode, open, seal, type Authkey } from './codec.js';
import { checkNamespace, connect, keysOf, parseRedisUrl } from './connection.js';
import { peer } from './peers.js';
import {
  cancelToken,
  readBundleBody,
  resultEntry,
  resultPurpose,
  taskPurpose,
  TASKS_QUEUE,
  WORKER_SEEN_TTL,
  workerSeenKey,
  type Envelope,
  type JobData,
  type ResultBody,
} from './protocol.js';
import { moduleHash, moduleName, moduleUrl } from './task-name.js';
import { isTypeScript, workerCommand } from './worker-command.js';

/** Options of `runWorker` (the worker command's flags). */
export interface WorkerOptions {
  /** Redis, as the drivers' `url`. */
  url: string;
  /** As the drivers' `namespace`. Default `'default'`. */
  namespace?: string;
  /** Modules whose exported functions this worker runs (paths from `root`, or file URLs). */
  imports: readonly string[];
  /** Worker threads, each running one task at a time. Default: this machine's CPU count. */
  processes?: number;
  /**
   * Jobs this worker holds at once (BullMQ's concurrency): those beyond `processes` wait here, so a
   * thread finds its next task when it finishes one. Default `2 × processes`: more lets one worker take
   * the chunks another could run; raise it for many tiny tasks (one round trip each).
   */
  concurrency?: number;
  /** As the drivers' `authkey`. */
  authkey?: Authkey;
  /**
   * Milliseconds without a renewed lease after which a task of this worker counts as lost and runs
   * again elsewhere (BullMQ's `lockDuration` and `stalledInterval`). Default 30,000.
   */
  lostTaskTimeout?: number;
  /** What `imports` and task module names are relative to. Default: the current directory. */
  root?: string;
  /** Where the worker reports what it serves and its progress. Default: stdout. */
  log?: (line: string) => void;
}

/** A running worker node. */
export interface ClusterWorker {
  /** The modules served, by task module name, with their exported functions. */
  readonly serves: ReadonlyMap<string, readonly string[]>;
  /** Takes no new jobs, finishes the running ones, then stops. */
  close(): Promise<void>;
  /** Stops now, and nothing more reaches Redis: the running jobs' leases expire and they run again elsewhere. Exit the process after it. */
  abandon(): Promise<void>;
}

interface Served {
  readonly url: string;
  readonly hash: string;
  readonly exports: ReadonlySet<string>;
}

const DEFAULT_LOST_TASK_TIMEOUT = 30_000;
/** Seconds a result list lives after a write (the driver deletes it when it is done). */
const RESULT_TTL = 3_600;
const PROGRESS_EVERY = 10_000;

function checkWholeNumber(value: unknown, name: string, fallback: number, least: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `${name} must be a whole number ≥ ${least}, not ${describeValue(value)}`);
  }
  return value;
}

/**
 * Imports a module to serve. A TypeScript module that this Node cannot load (Node 20 without tsx:
 * `ERR_UNKNOWN_FILE_EXTENSION`) is refused with the command that loads it. tsx is not registered here on
 * the user's behalf: the worker's threads import the module too, and learn to load TypeScript from the
 * command's own `--import tsx`, so one explicit flag keeps the process and its threads alike.
 */
async function importServed(url: string, specifier: string, shownUrl: string, namespace: string): Promise<Record<string, unknown>> {
  try {
    return await importModule(url);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !isTypeScript(specifier)) throw error;
    throw misuse(
      Error,
      'ERR_MP_TYPESCRIPT_LOADER',
      `--import ${specifier} is TypeScript, which this Node cannot load by itself: run the worker command under tsx, ` +
        `${workerCommand(shownUrl, namespace, specifier)} (or serve the built JavaScript module)`,
      { cause: error },
    );
  }
}

/**
 * When a driver names a TypeScript module (it runs under tsx, which imports the source) and this worker
 * serves a built module of the same name, says that the two are the same code in two forms.
 */
function sourceOfBuilt(module: string, served: Iterable<string>): string {
  if (!isTypeScript(module)) return '';
  const stem = (name: string): string => name.slice(name.lastIndexOf('/') + 1).replace(/\.[cm]?[jt]sx?$/, '');
  const built = [...served].find((name) => !isTypeScript(name) && stem(name) === stem(module));
  return built === undefined
    ? ''
    : `; or have the driver name the module these workers serve (run by tsx, it names the TypeScript source, not ${built}): ` +
        `pass { module: '${built}', name } to the pool, or run the built driver with node`;
}

/**
 * Starts a worker node; resolves once it is connected and serving.
 *
 * @example
 * ```ts
 * const worker = await runWorker({ url: 'redis://127.0.0.1:6379', imports: ['./dist/tasks.js'], processes: 4 });
 * process.once('SIGTERM', () => void worker.close());
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<ClusterWorker> {
  const target = parseRedisUrl(options.url);
  const keys = keysOf(checkNamespace(options.namespace));
  const authkey = checkAuthkey(options.authkey);
  const processes = checkWholeNumber(options.processes, 'processes', cpuCount(), 1);
  const concurrency = checkWholeNumber(options.concurrency, 'concurrency', 2 * processes, 1);
  const lostTaskTimeout = checkWholeNumber(options.lostTaskTimeout, 'lostTaskTimeout', DEFAULT_LOST_TASK_TIMEOUT, 100);
  const root = options.root ?? process.cwd();
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!Array.isArray(options.imports) || options.imports.length === 0) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', 'a worker needs at least one module to serve: --import ./dist/tasks.js');
  }

  // The allow-list. Imported here too, so a module that fails to load stops the worker at its start.
  const served = new Map<string, Served>();
  for (const specifier of options.imports) {
    const url = moduleUrl(specifier, root);
    if (url === undefined) {
      throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `--import takes a module file (./dist/tasks.js, an absolute path or a file: URL), not ${describeValue(specifier)}`);
    }
    const namespace = await importServed(url, specifier, target.shown, keys.namespace);
    const exports = new Set(Object.keys(namespace).filter((key) => typeof namespace[key] === 'function'));
    served.set(moduleName(url, root), { url, hash: moduleHash(url), exports });
  }

  const local = new Scheduler({
    processes,
    minProcesses: processes,
    idleTimeout: Infinity,
    initializer: null,
    initargs: pack([], 'initargs'),
    maxTasksPerChild: null,
    concurrentTasksPerWorker: 1,
    resourceLimits: undefined,
    env: undefined,
    argv: undefined,
    execArgv: undefined,
    name: 'ClusterWorker',
    startMethod: currentStartMethod(),
  });
  const running = new Map<string, AbortController>();
  let done = 0;
  let failed = 0;

  // Jobs reach this process one Redis reply at a time; handed over at once, each would cross to a
  // thread alone, come back alone and be written alone. Held until the end of this turn of the event
  // loop (setImmediate: after every reply that arrived with it), they cross together.
  let intake: ScheduledTask[] = [];
  const handOver = (): void => {
    const tasks = intake;
    intake = [];
    for (const task of tasks) local.submit(task);
  };
  const hand = (task: ScheduledTask): void => {
    if (intake.length === 0) setImmediate(handOver);
    intake.push(task);
  };

  type Result = { readonly body: ResultBody; readonly sign: boolean };
  const failure = (error: unknown, started: number, sign = true): Result => ({
    body: [Outcome.Failed, serializeThrown(error), performance.now() - started],
    sign,
  });

  /** Runs one task of a job; `token` names it on the cancel channel. */
  const run = (token: string, bytes: Uint8Array, started: number): Promise<Result> => {
    let envelope: Envelope;
    try {
      envelope = decode(bytes) as Envelope;
    } catch (error) {
      return Promise.resolve(failure(error, started));
    }
    const module = served.get(envelope.module);
    if (module === undefined || !module.exports.has(envelope.name)) {
      const here = [...served.keys()].join(', ');
      return Promise.resolve(
        failure(
          new UnknownTaskError(
            module === undefined
              ? `no worker runs ${envelope.module}#${envelope.name}: worker ${hostname()}:${process.pid} imports only ${here}. ` +
                  `Start the workers with: ${workerCommand(target.shown, keys.namespace, envelope.module)}${sourceOfBuilt(envelope.module, served.keys())}`
              : `${envelope.module} has no exported function '${envelope.name}' on worker ${hostname()}:${process.pid}: export it, and deploy the same build to the workers`,
          ),
          started,
        ),
      );
    }
    if (module.hash !== envelope.hash && envelope.hash !== '') {
      return Promise.resolve(
        failure(
          misuse(
            Error,
            'ERR_MP_FUNCTION_CHANGED',
            `driver and worker run different builds of ${envelope.module} (sha256 ${envelope.hash.slice(0, 12)}… on the driver, ` +
              `${module.hash.slice(0, 12)}… on worker ${hostname()}:${process.pid}): deploy the same build to both, and restart the workers`,
          ),
          started,
        ),
      );
    }
    // Distributed objects in the arguments arrived by name and were rebuilt here (codec.ts): they reach
    // this machine's threads as shared objects do, packed and rebuilt there.
    let packed: Packed;
    try {
      const path = envelope.base === undefined ? 'args' : 'iterable';
      packed = mayNeedPacking(envelope.data) ? pack(envelope.data, path) : { value: envelope.data, live: false };
    } catch (error) {
      return Promise.resolve(failure(error, started));
    }
    const controller = new AbortController();
    running.set(token, controller);
    return new Promise<Result>((resolve) => {
      hand({
        fn: { by: 'module', module: module.url, name: envelope.name, source: null },
        mode: envelope.mode as TaskMode,
        data: packed.value,
        live: packed.live,
        timeout: envelope.timeout,
        signal: controller.signal,
        // Pipelined with the worker's other jobs, not alone on a thread: a job's task would otherwise
        // wait until the task before it came back from the thread. A cancel still stops the thread, and
        // the other jobs it held run again: at least once, as the cluster promises.
        interruptible: true,
        base: envelope.base,
        // The thread's own time when it is known (the driver sizes its bundles by it), else the time here.
        onResult: (outcome, value, ranMs) =>
          resolve(outcome === Outcome.Failed ? failure(value, started) : { body: [outcome, value, ranMs ?? performance.now() - started], sign: true }),
        onError: (error) => resolve(failure(error, started)),
      });
    }).finally(() => running.delete(token));
  };

  /** Runs the tasks of a job: a promise of each one's result, in the order of `data.i`. */
  const runJob = (jobId: string, data: JobData): Promise<Result>[] => {
    const started = performance.now();
    let parts: Uint8Array[];
    try {
      parts = readBundleBody(open(authkey, taskPurpose(keys), Buffer.from(data.f, 'base64'), 'a task'));
      if (parts.length !== data.i.length) throw new TypeError(`a job of ${data.i.length} tasks carries ${parts.length}: the job was altered`);
    } catch (error) {
      // Sent unsigned: whatever key the driver has, it learns why (see codec.ts).
      const refused = Promise.resolve(failure(error, started, false));
      return data.i.map(() => refused);
    }
    return parts.map((bytes, k) => run(cancelToken(jobId, data.i[k]!), bytes, started));
  };

  const commands = await connect(target, 'blocking', `mp-worker:${hostname()}:${process.pid}`);
  // Results that come back in one turn of the event loop (a thread answers the tasks it was sent
  // together, in one message or a few) go to Redis in one pipeline: one RPUSH and one EXPIRE per result
  // list. Each job completes once its results are written.
  type Unwritten = { readonly list: string; readonly entry: Buffer; readonly written: () => void; readonly failed: (error: unknown) => void };
  let unwritten: Unwritten[] = [];
  const writeResults = (): void => {
    const batch = unwritten;
    unwritten = [];
    const lists = new Map<string, Buffer[]>();
    for (const { list, entry } of batch) {
      const entries = lists.get(list);
      if (entries === undefined) lists.set(list, [entry]);
      else entries.push(entry);
    }
    const pipeline = commands.pipeline();
    for (const [list, entries] of lists) pipeline.rpush(list, ...entries).expire(list, RESULT_TTL);
    pipeline.exec().then(
      () => batch.forEach((pending) => pending.written()),
      (error: unknown) => batch.forEach((pending) => pending.failed(error)),
    );
  };
  const writeResult = (list: string, entry: Buffer): Promise<void> =>
    new Promise<void>((written, failed) => {
      if (unwritten.length === 0) setImmediate(writeResults);
      unwritten.push({ list, entry, written, failed });
    });
  let abandoned = false;
  const send = async (list: string, id: number, result: Result): Promise<void> => {
    if (abandoned) return new Promise<never>(() => {}); // the job must stay unfinished: see abandon()
    let body: Buffer;
    try {
      body = encode(result.body, 'result');
    } catch (error) {
      body = encode([Outcome.Failed, serializeThrown(error), result.body[2]] satisfies ResultBody, 'result');
    }
    const frame = seal(result.sign ? authkey : undefined, resultPurpose(list, id), body);
    await writeResult(list, resultEntry(id, frame));
    if (result.body[0] === Outcome.Ok) done += 1;
    else failed += 1;
  };

  const resultPrefix = `${keys.key('res')}:`;
  const processor = async (job: Job): Promise<void> => {
    const data = job.data as Partial<JobData> | undefined;
    if (
      typeof data?.r !== 'string' ||
      !data.r.startsWith(resultPrefix) ||
      !Array.isArray(data.i) ||
      data.i.length === 0 ||
      !data.i.every((id) => typeof id === 'number') ||
      typeof data.f !== 'string'
    ) {
      throw new Error(`job ${job.id} is not a task of multiprocessing/distributed`);
    }
    const { r: list, i: ids } = data as JobData;
    // Each result is written as soon as it is known; the job completes once they all are.
    await Promise.all(runJob(String(job.id), data as JobData).map(async (result, k) => send(list, ids[k]!, await result)));
  };

  const subscriber = await connect(target, 'blocking', `mp-worker-cancel:${hostname()}:${process.pid}`);
  const cancelChannel = keys.key('cancel');
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== cancelChannel) return;
    for (const token of message.split(' ')) running.get(token)?.abort(misuse(Error, 'ERR_MP_POOL_TERMINATED', 'the task was cancelled by its driver'));
  });
  await subscriber.subscribe(cancelChannel);

  const { Worker: BullWorker } = await peer<typeof import('bullmq')>('bullmq');
  const bullConnection = await connect(target, 'blocking', `mp-worker-jobs:${hostname()}:${process.pid}`);
  const worker: Worker = new BullWorker(TASKS_QUEUE, processor, {
    connection: bullConnection,
    prefix: keys.prefix,
    concurrency,
    lockDuration: lostTaskTimeout,
    stalledInterval: lostTaskTimeout,
    maxStalledCount: 1,
  });
  worker.on('error', () => {});
  // A sign of life for drivers, which tell "no worker" from "busy" by it (protocol.ts: workerSeenKey).
  const seenKey = workerSeenKey(keys);
  const showAlive = (): void => void commands.set(seenKey, `${hostname()}:${process.pid}`, 'PX', WORKER_SEEN_TTL).catch(() => {});
  showAlive();
  const alive = setInterval(showAlive, WORKER_SEEN_TTL / 3);
  alive.unref();

  log(`multiprocessing worker ${hostname()}:${process.pid}: serving namespace '${keys.namespace}' at ${target.shown}, ${processes} processes, ${concurrency} jobs at once`);
  for (const [name, module] of served) log(`  ${name} (sha256 ${module.hash.slice(0, 12)}…): ${[...module.exports].join(', ') || 'no functions'}`);
  let reported = 0;
  const progress = setInterval(() => {
    if (done + failed === reported) return;
    reported = done + failed;
    log(`multiprocessing worker: ${done} tasks done, ${failed} failed`);
  }, PROGRESS_EVERY);
  progress.unref();

  const disconnect = (): void => {
    for (const connection of [subscriber, bullConnection, commands] as Redis[]) connection.disconnect();
  };
  let closing: Promise<void> | undefined;
  return {
    serves: new Map([...served].map(([name, module]) => [name, [...module.exports]])),
    close: () =>
      (closing ??= (async () => {
        clearInterval(progress);
        await worker.close().catch(() => {});
        clearInterval(alive);
        local.close();
        await local.joined();
        disconnect();
      })()),
    abandon: async () => {
      // Nothing more reaches Redis: the running jobs are neither completed nor failed, so their
      // leases expire and other workers run them again (BullMQ's stalled-job path).
      abandoned = true;
      clearInterval(progress);
      clearInterval(alive);
      disconnect();
      await local.terminate(new Error('the worker abandoned its tasks'));
    },
  };
}

