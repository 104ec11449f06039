/**
 * Child side of the pool: runs the initializer once, then runs batches of tasks in order, sending
 * results back in batches. Results of quick tasks are held a moment so that one message carries many;
 * a slow task never delays the results finished before it by more than that moment. An error that
 * belongs to no task (a timer's, an unhandled rejection) is reported, and the worker goes on.
 */
import { resolveWireFunction, unpack } from '../transport/unpack.js';
import { errorClassWire, pack } from '../transport/pack.js';
import { chunkUncloneableError, DESTINATION, mayNeedPacking, uncloneableError, type Packed } from '../transport/payload.js';
import { serializeThrown, type SerializedThrow } from '../transport/remote-error.js';
import { currentProcess } from '../runtime/identity.js';
import { reportChildError } from '../runtime/report.js';
import { defineRole, type ChildPort } from '../runtime/child.js';
import { ClaimCursor } from './claims.js';
import { copyResults, fromColumns, isRecordsBlock, resultBlock, type NumberBlock, type RecordsBlock, type ResultBlock } from './chunks.js';
import {
  Outcome,
  TaskMode,
  type ChunkOutcome,
  type FromWorker,
  type PoolWorkerPayload,
  type ToWorker,
  type WireResult,
  type WireTask,
} from './protocol.js';

/** What a thrown value sends back: with its class, where that is a class of the program's (`class-locate.ts`). */
function thrownToParent(error: unknown): SerializedThrow {
  return serializeThrown(error, errorClassWire);
}

// Results wait at most this long for company before they are sent.
const FLUSH_AFTER_MS = 1;

type AnyFunction = (...args: unknown[]) => unknown;

const functions = new Map<number, Promise<AnyFunction>>();
// The same functions once resolved, for the synchronous fast path.
const ready = new Map<number, AnyFunction>();
const backlog: WireTask[][] = [];
let running = false;
let outbox: WireResult[] = [];
// Buffers of number blocks in the outbox, moved rather than cloned.
let outboxTransfer: ArrayBuffer[] = [];
let busyMs = 0;
let lastFlush = 0;
// The id of the task the loop is running now, reported if the worker exits in the middle of it (tasks
// running alongside are reported from `alongside`).
let current: number | null = null;

// How many tasks may run at once (the pool's `concurrentTasksPerWorker`): a task that returns a promise
// lets the next ones start while it awaits, up to this many. Set when the role starts.
let concurrency = 1;
// The tasks running alongside others (a promise awaited while the next ones start), until each has
// finished. Each result goes to the outbox as it finishes, not behind a slower task started before it:
// the pool sees a place free as soon as it is (and gives it a task, dispatch.ts `steal`).
const alongside = new Set<number>();
let runningAtOnce = 0;
let roomForMore: (() => void) | undefined;
let flushQueued = false;

// The way to the pool, set when the role starts.
let parent: ChildPort;
// Where this worker claims each task before running it (claims.ts); undefined without shared memory.
let claims: ClaimCursor | undefined;

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  parent.postMessage(message, transfer);
}

function flush(): void {
  if (outbox.length === 0) return;
  const message: FromWorker = { type: 'done', results: outbox, busyMs };
  try {
    post(message, outboxTransfer);
  } catch {
    // One result could not be cloned: send them one by one, turning the bad ones into errors.
    for (const result of outbox) sendAlone(result);
  }
  if (chunkBases.size > 0) for (const [id] of outbox) chunkBases.delete(id);
  outbox = [];
  outboxTransfer = [];
  busyMs = 0;
  lastFlush = performance.now();
}

function sendAlone(result: WireResult): void {
  try {
    // A chunk's block of results moves (it is ours); a value a task returned is cloned, never taken away.
    const block = result[2];
    const ours = chunkBases.has(result[0]) && ArrayBuffer.isView(block) && block.buffer instanceof ArrayBuffer;
    post({ type: 'done', results: [result], busyMs: 0 }, ours ? [block.buffer as ArrayBuffer] : undefined);
  } catch (error) {
    const [id, outcome, value] = result;
    post({ type: 'done', results: [[id, Outcome.Failed, thrownToParent(resultError(id, outcome, value, error))]], busyMs: 0 });
  }
}

// The index of the first item of each chunk task this worker holds (WireTask's `base`), for errors only.
const chunkBases = new Map<number, number>();

/** The error for a result that cannot go back: a chunk's names the item by its index in the whole input. */
function resultError(id: number, outcome: Outcome, value: unknown, cause: unknown): TypeError {
  const base = chunkBases.get(id);
  const sent = outcome === Outcome.Partial ? (value as ChunkOutcome).results : value;
  if (base === undefined || !Array.isArray(sent)) return uncloneableError(sent, 'result', cause, DESTINATION.result);
  return chunkUncloneableError(sent, base, 'result', cause, DESTINATION.result);
}

/**
 * A successful result, packed when it holds shared objects or class instances (the pool unpacks it):
 * a number or a string skips even the check, plain records a scan that allocates nothing.
 */
function okResult(id: number, outcome: Outcome.Ok | Outcome.Partial, value: unknown): WireResult {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return [id, outcome, value];
  if (!mayNeedPacking(outcome === Outcome.Partial ? (value as ChunkOutcome).results : value)) return [id, outcome, value];
  try {
    if (outcome === Outcome.Partial) {
      const chunk = value as ChunkOutcome;
      const packed = pack(chunk.results, 'result', 'result');
      return packed.live ? [id, outcome, { results: packed.value, errors: chunk.errors }, true] : [id, outcome, value];
    }
    const packed = pack(value, 'result', 'result');
    return packed.live ? [id, outcome, packed.value, true] : [id, outcome, value];
  } catch (error) {
    // `pack` refuses a function or a symbol on the way back; a chunk's error names the item.
    const uncloneable = (error as { code?: unknown } | null)?.code === 'ERR_MP_UNCLONEABLE';
    return [id, Outcome.Failed, thrownToParent(uncloneable && chunkBases.has(id) ? resultError(id, outcome, value, error) : error)];
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

// Why `mapSync` stopped before the end of its chunk: an item returned a promise, or threw.
let stoppedBy:
  | { readonly promise: PromiseLike<unknown> }
  | { readonly error: unknown }
  | { readonly value: unknown }
  | undefined;

/**
 * `mapSync` for a block of numbers (chunks.ts) whose results are booleans or numbers: they go straight
 * into a result block of the kind the first result asks for (booleans, int32, then doubles), with no
 * array in between. Stops at the first result that fits no block (see `stoppedBy`); returns the block
 * (undefined if the first result did not fit) and the index where it stopped.
 */
function mapBlock(fn: AnyFunction, items: NumberBlock): [ResultBlock | undefined, number] {
  const length = items.length;
  let i = 0;
  let out: ResultBlock | undefined;
  let value: unknown;
  try {
    value = fn(items[0]);
    if (typeof value === 'boolean') {
      const booleans = new Uint8Array(length);
      out = booleans;
      for (;;) {
        if (value === true) booleans[i] = 1;
        else if (value !== false) break;
        if (++i === length) break;
        value = fn(items[i]);
      }
    } else if (typeof value === 'number') {
      const ints = new Int32Array(length);
      out = ints;
      for (;;) {
        if (typeof value !== 'number') break;
        const n = value | 0;
        if (n !== value || (n === 0 && 1 / value < 0)) break;
        ints[i] = n;
        if (++i === length) break;
        value = fn(items[i]);
      }
      if (i < length && typeof value === 'number') {
        // A result that is not an int32 (a fraction, -0, NaN, beyond 2³¹): doubles from here on.
        const doubles = new Float64Array(length);
        doubles.set(ints.subarray(0, i));
        out = doubles;
        for (;;) {
          if (typeof value !== 'number') break;
          doubles[i] = value;
          if (++i === length) break;
          value = fn(items[i]);
        }
      }
    }
    if (i < length) stoppedBy = isThenable(value) ? { promise: value } : { value };
  } catch (error) {
    stoppedBy = { error };
  }
  return [out, i];
}

/**
 * Runs items from `from` on, synchronously, in a loop V8 optimizes well (no await, one try for the
 * whole run). Returns the index of the first item it could not finish (see `stoppedBy`), or the length.
 */
function mapSync(fn: AnyFunction, items: ArrayLike<unknown>, results: unknown[], from: number, star: boolean): number {
  const length = items.length;
  let i = from;
  try {
    for (; i < length; i++) {
      const value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function') {
        stoppedBy = { promise: value as PromiseLike<unknown> };
        return i;
      }
      results[i] = value;
    }
  } catch (error) {
    stoppedBy = { error };
  }
  return i;
}

async function runChunk(fn: AnyFunction, chunk: unknown[] | NumberBlock | RecordsBlock, star: boolean): Promise<[Outcome, unknown]> {
  const items = isRecordsBlock(chunk) ? fromColumns(chunk) : chunk;
  let results: unknown[];
  let first: number;
  if (Array.isArray(items)) {
    results = new Array<unknown>(items.length);
    first = mapSync(fn, items, results, 0, star);
  } else {
    // A block of numbers: results that fit a block go back in one, moved not cloned.
    const [block, stop] = mapBlock(fn, items);
    if (stop === items.length) {
      outboxTransfer.push(block!.buffer as ArrayBuffer);
      return [Outcome.Ok, block];
    }
    results = new Array<unknown>(items.length);
    if (block !== undefined) copyResults(block.subarray(0, stop), results, 0);
    first = stop;
  }
  let errors: ChunkOutcome['errors'] | undefined;
  // Items run one after another, as in Python: an async function's promise is awaited before the next.
  for (let i = first; i < items.length; i = mapSync(fn, items, results, i + 1, star)) {
    const stop = stoppedBy!;
    stoppedBy = undefined;
    try {
      if ('error' in stop) throw stop.error;
      results[i] = 'value' in stop ? stop.value : await stop.promise;
    } catch (error) {
      (errors ??= []).push([i, thrownToParent(error)]);
    }
  }
  if (errors === undefined) {
    const block = resultBlock(results);
    if (block === undefined) return [Outcome.Ok, results];
    if (ArrayBuffer.isView(block)) outboxTransfer.push(block.buffer as ArrayBuffer);
    return [Outcome.Ok, block];
  }
  const outcome: ChunkOutcome = { results, errors };
  return [Outcome.Partial, outcome];
}

async function runTask(task: WireTask): Promise<WireResult> {
  const [id, fnId, mode, data, live, base] = task;
  if (base !== undefined) chunkBases.set(id, base);
  try {
    const fn = await functions.get(fnId)!;
    const input = live ? await unpack({ value: data, live } as Packed) : data;
    if (mode === TaskMode.Apply) {
      let value = fn(...(input as unknown[]));
      if (isThenable(value)) value = await value;
      return okResult(id, Outcome.Ok, value);
    }
    const [outcome, value] = await runChunk(fn, input as unknown[] | NumberBlock | RecordsBlock, mode === TaskMode.Starmap);
    // A block (numbers, booleans, records of primitives) holds nothing to pack.
    if (outcome === Outcome.Failed || (outcome === Outcome.Ok && !Array.isArray(value))) return [id, outcome, value];
    return okResult(id, outcome, value);
  } catch (error) {
    return [id, Outcome.Failed, thrownToParent(error)];
  }
}

// Runs an apply task whose function is resolved, whose arguments need no unpacking and whose result is
// not a promise without leaving the current turn; returns undefined when the task needs the slow path.
function runSync(task: WireTask): WireResult | undefined {
  const [id, fnId, mode, data, live] = task;
  const fn = ready.get(fnId);
  if (fn === undefined || live || mode !== TaskMode.Apply) return undefined;
  let value: unknown;
  try {
    value = fn(...(data as unknown[]));
  } catch (error) {
    return [id, Outcome.Failed, thrownToParent(error)];
  }
  if (!isThenable(value)) return okResult(id, Outcome.Ok, value);
  pendingThenable = value;
  return undefined;
}

// A promise returned by a task that started on the fast path; the slow path awaits it.
let pendingThenable: PromiseLike<unknown> | undefined;

async function settleThenable(id: number, value: PromiseLike<unknown>): Promise<WireResult> {
  try {
    return okResult(id, Outcome.Ok, await value);
  } catch (error) {
    return [id, Outcome.Failed, thrownToParent(error)];
  }
}

async function drain(): Promise<void> {
  running = true;
  while (backlog.length > 0) {
    const batch = backlog.shift()!;
    for (let k = 0; k < batch.length; k++) {
      const task = batch[k]!;
      const id = task[0];
      const started = performance.now();
      // Before the last task in hand, send what is done: the parent refills this worker as results come
      // back, and must not wait for the last task to finish too (large tasks are sent a few at a time).
      if (started - lastFlush > FLUSH_AFTER_MS || (k === batch.length - 1 && backlog.length === 0)) flush();
      // Taken back by the pool for another worker: skipped, and never answered.
      if (claims !== undefined && !claims.claim()) continue;
      current = id;
      let result = runSync(task);
      if (result === undefined) {
        const thenable = pendingThenable;
        pendingThenable = undefined;
        const settling = thenable === undefined ? runTask(task) : settleThenable(id, thenable);
        if (concurrency > 1) {
          current = null;
          await runAlongside(id, settling, started);
          continue;
        }
        result = await settling;
      }
      current = null;
      outbox.push(result);
      busyMs += performance.now() - started;
    }
  }
  flush();
  running = false;
}

// Lets `settling` finish while the next tasks start; waits only while `concurrency` tasks are running.
async function runAlongside(id: number, settling: Promise<WireResult>, started: number): Promise<void> {
  alongside.add(id);
  runningAtOnce += 1;
  void settling.then((result) => {
    alongside.delete(id);
    outbox.push(result);
    runningAtOnce -= 1;
    busyMs += performance.now() - started;
    flushSoon();
    const wake = roomForMore;
    roomForMore = undefined;
    wake?.();
  });
  if (runningAtOnce >= concurrency) {
    flushSoon();
    await new Promise<void>((resolve) => (roomForMore = resolve));
  }
}

// Sends the outbox soon: the loop may be idle, or waiting for room, and would not send it itself.
function flushSoon(): void {
  if (outbox.length === 0 || flushQueued) return;
  flushQueued = true;
  setImmediate(() => {
    flushQueued = false;
    flush();
  });
}

function onMessage(message: ToWorker): void {
  switch (message.type) {
    case 'define': {
      const id = message.id;
      const resolved = resolveWireFunction(message.fn) as Promise<AnyFunction>;
      resolved.then(
        (fn) => ready.set(id, fn),
        () => {}, // reported through each task that uses it
      );
      functions.set(id, resolved);
      break;
    }
    case 'run':
      backlog.push(message.tasks);
      if (!running) drain().catch(failLoop);
      break;
    case 'stop':
      flush();
      process.exit(0);
  }
}

// An error thrown by a timer, or a rejection nobody handled, belongs to no task: the task that caused it
// may have returned long ago. Node would end the worker for it, so that an innocent task running there
// later is lost (WorkerLostError) and, on an idle worker, the error vanishes unseen. Report it as Python
// reports a child thread's traceback, `Process PoolWorker-N:` then the stack, and keep the worker and
// the task it is running alive.
function reportStray(error: unknown): void {
  reportChildError(currentProcess().name, error);
}

// A fault of this loop itself, which the handlers above must not hide: the tasks this worker holds might
// never settle, so end it; the pool rejects them with WorkerLostError and starts a replacement.
function failLoop(error: unknown): void {
  reportChildError(currentProcess().name, error);
  process.exit(1);
}

/** The child side of a pool worker (see `runtime/bootstrap.ts`). */
async function runPoolWorker(payload: PoolWorkerPayload, port: ChildPort): Promise<void> {
  parent = port;
  concurrency = payload.concurrency;
  if (payload.claims !== undefined) claims = new ClaimCursor(payload.claims);
  process.on('uncaughtException', reportStray);
  process.on('unhandledRejection', reportStray);
  // Messages that arrive during the initializer are kept until the listener is attached (by the child
  // port: for a thread, its entry keeps them, runtime/thread/starter.ts).
  if (payload.initializer !== null) {
    try {
      const initializer = (await resolveWireFunction(payload.initializer)) as AnyFunction;
      const initargs = (await unpack(payload.initargs)) as unknown[];
      const value = initializer(...initargs);
      if (isThenable(value)) await value;
    } catch (error) {
      post({ type: 'init-failed', error: thrownToParent(error) });
      process.exit(1);
    }
  }
  post({ type: 'ready' });
  // A task that calls process.exit ends the worker: send the results finished before it, so only the
  // tasks still running are lost, and without a claim word say which those are, so the pool runs the
  // tasks queued behind them elsewhere.
  process.on('exit', () => {
    try {
      flush();
      if (claims !== undefined) return;
      const started = [...alongside];
      if (current !== null) started.push(current);
      post({ type: 'exiting', running: started });
    } catch {
      // the pool then treats every task this worker held as lost
    }
  });
  lastFlush = performance.now();
  port.onMessage((message: ToWorker) => {
    try {
      onMessage(message);
    } catch (error) {
      failLoop(error);
    }
  });
}

/** How the pool names this role in its workers' start messages. */
export const poolWorkerRole = defineRole('pool-worker', runPoolWorker, import.meta.url);
