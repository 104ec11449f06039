/**
 * The Pool's arguments and options, checked in one place before any work starts (piscina's style: one
 * check per entry point, one message style). A wrong value is a `TypeError` (wrong kind) or a
 * `RangeError` (right kind, out of range) with an `ERR_MP_…` code, worded `<name> must be <what it
 * takes>, not <what it got>` so it names the fix. Python's words are kept where Python has them
 * (`Chunksize must be 1+`, `Number of processes must be at least 1`).
 *
 * Without these checks, `map(f, { a: 1 })` returned `[]`, `apply(f, 3)` failed deep inside with an
 * internal message, and a bad `transfer` list crashed the program from inside the scheduler.
 */
import type { ResourceLimits } from '../runtime/child.js';
import { describeValue, misuse, type ErrorCode } from '../errors.js';
import { limitTimeout } from '../timeout.js';
import type { FunctionReference } from '../transport/wire-function.js';
import type { TransferItem } from './pool.js';
import type { Transferred } from './executor.js';

/** A pool's options once checked, defaults applied. */
export interface PoolSettings {
  readonly processes: number;
  readonly initializer: Function | FunctionReference | undefined;
  readonly initargs: unknown[];
  readonly maxTasksPerChild: number | null;
  readonly resourceLimits: ResourceLimits | undefined;
  /** `apply` calls beyond this many queued tasks are refused; `Infinity`: never. */
  readonly maxQueue: number;
}

/** A call's options once checked: `timeout` is `undefined` for no limit. */
export interface TaskSettings {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  /** Buffers and ports to move into the worker; shared buffers already left out. */
  readonly transfer: Transferred[] | undefined;
  /** Larger starts first; `undefined` is the default, 0. */
  readonly priority: number | undefined;
  readonly onProgress: ((done: number, total: number | undefined) => void) | undefined;
}

const NO_TASK_OPTIONS: TaskSettings = { signal: undefined, timeout: undefined, transfer: undefined, priority: undefined, onProgress: undefined };

const RESOURCE_LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

function wrongType(name: string, what: string, value: unknown, code: ErrorCode = 'ERR_MP_INVALID_ARG'): TypeError {
  return misuse(TypeError, code, `${name} must be ${what}, not ${describeValue(value)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `new Pool(processes)` or `new Pool({ … })`. */
export function checkPoolOptions(processesOrOptions: unknown, defaultProcesses: () => number): PoolSettings {
  let options: Record<string, unknown>;
  if (processesOrOptions === undefined || processesOrOptions === null) options = {};
  else if (isObject(processesOrOptions)) options = processesOrOptions;
  else options = { processes: processesOrOptions };

  const processes = options['processes'] ?? defaultProcesses();
  if (typeof processes !== 'number') {
    throw wrongType('processes', 'a whole number of workers, at least 1', processes, 'ERR_MP_POOL_SIZE');
  }
  if (!Number.isInteger(processes) || processes < 1) {
    throw misuse(RangeError, 'ERR_MP_POOL_SIZE', `Number of processes must be at least 1 (and a whole number), not ${String(processes)}`);
  }

  const max = options['maxTasksPerChild'] ?? null;
  if (max !== null && typeof max !== 'number') {
    throw wrongType('maxTasksPerChild', 'a positive integer or null', max, 'ERR_MP_MAX_TASKS');
  }
  if (max !== null && (!Number.isInteger(max) || max < 1)) {
    throw misuse(RangeError, 'ERR_MP_MAX_TASKS', `maxTasksPerChild must be a positive integer or null, not ${String(max)}`);
  }

  const initializer = options['initializer'];
  if (initializer !== undefined) checkFunction(initializer, 'initializer');
  const initargs = options['initargs'] ?? [];
  if (!Array.isArray(initargs)) throw wrongType('initargs', "an array of the initializer's arguments", initargs);

  const limits = options['resourceLimits'];
  if (limits !== undefined) {
    if (!isObject(limits)) throw wrongType('resourceLimits', 'an object such as { maxOldGenerationSizeMb: 64 }', limits);
    for (const key of RESOURCE_LIMITS) {
      const mb = limits[key];
      if (mb === undefined) continue;
      if (typeof mb !== 'number') throw wrongType(`resourceLimits.${key}`, 'a number of megabytes', mb);
      if (!(mb > 0) || !Number.isFinite(mb)) {
        throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `resourceLimits.${key} must be a positive number of megabytes, not ${mb}`);
      }
    }
  }
  return {
    processes,
    initializer: initializer as Function | FunctionReference | undefined,
    initargs,
    maxTasksPerChild: max,
    resourceLimits: limits as ResourceLimits | undefined,
    maxQueue: checkMaxQueue(options['maxQueue'], processes),
  };
}

/** `maxQueue`: a whole number ≥ 1, `Infinity` (the default) or `'auto'` (processes², as piscina's). */
function checkMaxQueue(maxQueue: unknown, processes: number): number {
  if (maxQueue === undefined) return Infinity;
  if (maxQueue === 'auto') return processes * processes;
  if (typeof maxQueue !== 'number') throw wrongType('maxQueue', "a whole number of tasks, at least 1, or 'auto'", maxQueue);
  if (maxQueue !== Infinity && (!Number.isInteger(maxQueue) || maxQueue < 1)) {
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `maxQueue must be a whole number of tasks, at least 1 (or Infinity, or 'auto'), not ${String(maxQueue)}`);
  }
  return maxQueue;
}

/**
 * The first check of a function argument (`fn`, `initializer`): a function or an object that may be a
 * `{ module, name }` reference. What a reference must hold, and whether a function can cross, is
 * checked where functions are turned into what crosses (`toWireFunction`).
 */
export function checkFunction(fn: unknown, name: string): void {
  if (typeof fn !== 'function' && !isObject(fn)) {
    throw wrongType(name, 'a function or a { module, name } reference', fn);
  }
}

/** `apply`'s argument list. */
export function checkArgs(args: unknown): unknown[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) throw wrongType('args', "an array of fn's arguments, as in apply(fn, [x])", args);
  return args;
}

/** The input of `map`, `starmap`, `imap` and `imapUnordered` (a string is its characters, as in Python). */
export function checkIterable(iterable: unknown): Iterable<unknown> | AsyncIterable<unknown> {
  if (typeof iterable === 'string') return Array.from(iterable);
  const ok =
    typeof iterable === 'object' &&
    iterable !== null &&
    (typeof (iterable as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function' ||
      typeof (iterable as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function');
  if (!ok) throw wrongType('iterable', 'an iterable or async iterable (an array, a Set, a generator…)', iterable);
  return iterable as Iterable<unknown> | AsyncIterable<unknown>;
}

/** Every item of a `starmap` input is the argument list of one call. */
export function checkStarmapItems(items: readonly unknown[]): void {
  for (let i = 0; i < items.length; i++) {
    if (!Array.isArray(items[i])) {
      throw wrongType(`iterable[${i}]`, "an array of fn's arguments (starmap calls fn(...item))", items[i]);
    }
  }
}

/** Python's rule for a chunk size: a whole number, 1 or more. `undefined` is the default. */
export function checkChunksize(chunksize: unknown): number | undefined {
  if (chunksize === undefined) return undefined;
  if (typeof chunksize !== 'number') throw wrongType('chunksize', 'a whole number of items, 1 or more', chunksize, 'ERR_MP_CHUNKSIZE');
  if (!Number.isInteger(chunksize) || chunksize < 1) {
    throw misuse(RangeError, 'ERR_MP_CHUNKSIZE', `Chunksize must be 1+, not ${String(chunksize)}`);
  }
  return chunksize;
}

/**
 * A call's options (`{ signal, timeout, transfer, priority, onProgress }`, and `callback`/`errorCallback` for the
 * `…Async` forms). `transfer` is for `apply`/`applyAsync` only: map chunks are cut from the input, so a
 * buffer listed for one would move it away from the others.
 */
export function checkTaskOptions(options: unknown, call: 'apply' | 'map'): TaskSettings {
  if (options === undefined) return NO_TASK_OPTIONS;
  if (!isObject(options)) throw wrongType('options', 'an object such as { timeout, signal, onProgress }', options);
  const { signal, timeout, transfer, priority, onProgress, callback, errorCallback } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw wrongType('signal', 'an AbortSignal (from an AbortController)', signal);
  }
  const limit = limitTimeout(timeout, 'timeout');
  for (const [name, fn] of [['onProgress', onProgress], ['callback', callback], ['errorCallback', errorCallback]] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw wrongType(name, 'a function', fn);
  }
  if (priority !== undefined && typeof priority !== 'number') throw wrongType('priority', 'a number (larger runs first; default 0)', priority);
  if (typeof priority === 'number' && !Number.isFinite(priority)) {
    throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `priority must be a finite number (larger runs first; default 0), not ${priority}`);
  }
  if (transfer !== undefined && call !== 'apply') {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', 'transfer is for apply() and applyAsync() only: leave it out of map and imap calls');
  }
  return {
    signal,
    timeout: limit === Infinity ? undefined : limit,
    transfer: transfer === undefined ? undefined : checkTransfer(transfer),
    priority: priority === 0 ? undefined : (priority as number | undefined),
    onProgress: onProgress as TaskSettings['onProgress'],
  };
}

/**
 * `transfer`: what may move into a worker. A `SharedArrayBuffer` is left out (it is shared, never
 * moved); anything else that cannot move is a `TypeError` naming `transfer[i]` (Node would throw it
 * later, from inside the scheduler, where nobody can catch it).
 */
function checkTransfer(transfer: unknown): Transferred[] {
  if (!Array.isArray(transfer)) throw wrongType('transfer', 'an array of ArrayBuffers and MessagePorts', transfer);
  const kept: Transferred[] = [];
  const items = transfer as readonly TransferItem[];
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (item instanceof SharedArrayBuffer) continue;
    if (!(item instanceof ArrayBuffer) && !(item instanceof MessagePort)) {
      if (ArrayBuffer.isView(item)) {
        throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `transfer[${i}] is a ${item.constructor.name}: list its .buffer instead`);
      }
      throw wrongType(`transfer[${i}]`, 'an ArrayBuffer or a MessagePort (a SharedArrayBuffer is shared without it)', item);
    }
    if (kept.includes(item)) throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `transfer[${i}] is listed twice`);
    kept.push(item);
  }
  return kept;
}
