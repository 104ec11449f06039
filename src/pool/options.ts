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
import { checkOptionKeys } from '../option-keys.js';
import { checkStartMethod, type StartMethod } from '../runtime/start-methods.js';
import { limitTimeout } from '../timeout.js';
import type { FunctionReference } from '../transport/wire-function.js';
import type { PoolOptions, TaskOptions, TransferItem } from './pool.js';
import type { Callbacks } from './async-result.js';
import type { Transferred } from './executor.js';

/** A pool's options once checked, defaults applied. */
export interface PoolSettings {
  /** The most workers at once. */
  readonly processes: number;
  /** The fewest workers: started with the pool, never retired for idleness. */
  readonly minProcesses: number;
  /** Milliseconds a worker above `minProcesses` may stay idle before it retires; `Infinity`: never. */
  readonly idleTimeout: number;
  /** Tasks one worker may run at once (they overlap while they await). */
  readonly concurrentTasksPerWorker: number;
  readonly initializer: Function | FunctionReference | undefined;
  readonly initargs: unknown[];
  readonly maxTasksPerChild: number | null;
  /** The start method given by the `context` option; undefined: the current one. */
  readonly startMethod: StartMethod | undefined;
  readonly resourceLimits: ResourceLimits | undefined;
  /** `apply` calls beyond this many queued tasks are refused; `Infinity`: never. */
  readonly maxQueue: number;
  /** Copied here, without `undefined` values. */
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly argv: readonly string[] | undefined;
  readonly execArgv: readonly string[] | undefined;
  /** What the workers' names start with; `undefined`: `PoolWorker` (see workers.ts). */
  readonly name: string | undefined;
}

// A worker runs at most this many tasks at once: more in flight would only queue there, unseen.
const MAX_AT_ONCE = 1024;

/**
 * How long a worker above `minProcesses` stays idle by default before it retires. Starting a worker
 * costs tens of milliseconds and an idle one only its memory, so a pool that works in bursts a few
 * seconds apart keeps its workers; one left idle gives them back. (piscina retires at once by default,
 * poolifier after 60 s.)
 */
export const DEFAULT_IDLE_TIMEOUT = 10_000;

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

// The options of a call (`TaskOptions`), and the callbacks of its `…Async` form.
const TASK_OPTION_KEYS = ['signal', 'timeout', 'transfer', 'priority', 'onProgress', 'callback', 'errorCallback'] as const satisfies readonly (
  | keyof TaskOptions
  | keyof Callbacks<unknown>
)[];

const NO_TASK_OPTIONS: TaskSettings = { signal: undefined, timeout: undefined, transfer: undefined, priority: undefined, onProgress: undefined };

const RESOURCE_LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;
// Node's command-line names of the same limits.
const RESOURCE_LIMIT_HINTS = {
  maxOldSpaceSize: "Did you mean 'maxOldGenerationSizeMb' (--max-old-space-size)?",
  maxSemiSpaceSize: "Did you mean 'maxYoungGenerationSizeMb' (three semi-spaces: --max-semi-space-size × 3)?",
  stackSize: "Did you mean 'stackSizeMb' (in MB; --stack-size is in KB)?",
};

function wrongType(name: string, what: string, value: unknown, code: ErrorCode = 'ERR_MP_INVALID_ARG'): TypeError {
  return misuse(TypeError, code, `${name} must be ${what}, not ${describeValue(value)}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Every option of `new Pool({…})`; the type below fails to compile if one is missing.
const POOL_OPTION_KEYS = [
  'processes',
  'minProcesses',
  'idleTimeout',
  'initializer',
  'initargs',
  'maxTasksPerChild',
  'concurrentTasksPerWorker',
  'resourceLimits',
  'maxQueue',
  'env',
  'argv',
  'execArgv',
  'name',
  'context',
] as const satisfies readonly (keyof PoolOptions)[];
type Unlisted = Exclude<keyof PoolOptions, (typeof POOL_OPTION_KEYS)[number]>;
const everyOptionListed: Unlisted extends never ? true : Unlisted = true;
void everyOptionListed;

const POOL_FORMS = 'new Pool(processes), new Pool({ processes, ...options }) or new Pool(processes, { ...options })';

/**
 * The options object of `new Pool(processes)`, `new Pool({ … })` or `new Pool(processes, { … })`.
 * Python's positional form (`Pool(4, init, (x,))`) is refused with the object form to use instead:
 * ignored, its initializer would silently never run.
 */
function poolOptionsOf(args: readonly unknown[]): Record<string, unknown> {
  const [first, second] = args;
  if (args.length > 2 || typeof second === 'function' || typeof first === 'function') {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      `new Pool() takes its options as an object: ${POOL_FORMS}. ` +
        `Python's Pool(processes, initializer, initargs) is new Pool({ processes, initializer, initargs }).`,
    );
  }
  if (second !== undefined) {
    if (!isObject(second)) throw wrongType("new Pool()'s second argument", `an options object (${POOL_FORMS})`, second);
    if (isObject(first)) throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `new Pool() takes one options object, not two: ${POOL_FORMS}`);
    if ('processes' in second) {
      throw misuse(TypeError, 'ERR_MP_INVALID_ARG', 'new Pool(processes, options) got processes twice: leave it out of the options object');
    }
    return first === undefined || first === null ? second : { ...second, processes: first };
  }
  if (first === undefined || first === null) return {};
  return isObject(first) ? first : { processes: first };
}

/** `context`: a start method's name or a context (`getContext('process')`), as Python's `Pool(context=…)`. */
function checkContext(context: unknown): StartMethod | undefined {
  if (context === undefined) return undefined;
  if (typeof context === 'string') return checkStartMethod(context);
  if (isObject(context) && typeof context['startMethod'] === 'string') return checkStartMethod(context['startMethod']);
  throw wrongType('context', "a start method ('thread' or 'process') or a context from getContext()", context);
}

/** The arguments of `new Pool(…)`, checked, defaults applied. */
export function checkPoolOptions(args: readonly unknown[], defaultProcesses: () => number): PoolSettings {
  const options = poolOptionsOf(args);
  checkOptionKeys(options, POOL_OPTION_KEYS, 'new Pool()');

  const min = options['minProcesses'];
  if (min !== undefined && typeof min !== 'number') {
    throw wrongType('minProcesses', 'a whole number of workers, 0 or more', min, 'ERR_MP_POOL_SIZE');
  }
  if (min !== undefined && (!Number.isInteger(min) || min < 0)) {
    throw misuse(RangeError, 'ERR_MP_POOL_SIZE', `minProcesses must be a whole number of workers, 0 or more, not ${String(min)}`);
  }
  // Without `processes`, a larger minProcesses raises the default (as piscina's minThreads does).
  const processes = options['processes'] ?? Math.max(defaultProcesses(), min ?? 1);
  if (typeof processes !== 'number') {
    throw wrongType('processes', 'a whole number of workers, at least 1', processes, 'ERR_MP_POOL_SIZE');
  }
  if (!Number.isInteger(processes) || processes < 1) {
    throw misuse(RangeError, 'ERR_MP_POOL_SIZE', `Number of processes must be at least 1 (and a whole number), not ${String(processes)}`);
  }
  if (min !== undefined && min > processes) {
    throw misuse(
      RangeError,
      'ERR_MP_POOL_SIZE',
      `minProcesses must be at most processes (${processes}), not ${min}: lower minProcesses or raise processes`,
    );
  }
  const idle = options['idleTimeout'];
  if (idle !== undefined && typeof idle !== 'number') {
    throw wrongType('idleTimeout', 'a number of milliseconds (Infinity keeps idle workers)', idle, 'ERR_MP_INVALID_TIMEOUT');
  }
  // Only an elastic pool retires idle workers: without minProcesses every worker is kept, and a silently
  // ignored idleTimeout would look like one that works (as a misspelt option would, which is refused too).
  if (idle !== undefined && min === undefined) {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      `idleTimeout applies only to an elastic pool, whose workers above minProcesses retire when idle: ` +
        `add minProcesses (say { processes: ${processes}, minProcesses: 0, idleTimeout: ${String(idle)} }), or leave idleTimeout out for a fixed pool`,
    );
  }

  const max = options['maxTasksPerChild'] ?? null;
  if (max !== null && typeof max !== 'number') {
    throw wrongType('maxTasksPerChild', 'a positive integer or null', max, 'ERR_MP_MAX_TASKS');
  }
  if (max !== null && (!Number.isInteger(max) || max < 1)) {
    throw misuse(RangeError, 'ERR_MP_MAX_TASKS', `maxTasksPerChild must be a positive integer or null, not ${String(max)}`);
  }

  const atOnce = options['concurrentTasksPerWorker'] ?? 1;
  if (typeof atOnce !== 'number') throw wrongType('concurrentTasksPerWorker', 'a whole number of tasks, 1 or more', atOnce);
  if (!Number.isInteger(atOnce) || atOnce < 1 || atOnce > MAX_AT_ONCE) {
    throw misuse(
      RangeError,
      'ERR_MP_INVALID_ARG',
      `concurrentTasksPerWorker must be a whole number of tasks from 1 to ${MAX_AT_ONCE}, not ${String(atOnce)}`,
    );
  }

  const initializer = options['initializer'];
  if (initializer !== undefined) checkFunction(initializer, 'initializer');
  const initargs = options['initargs'] ?? [];
  if (!Array.isArray(initargs)) throw wrongType('initargs', "an array of the initializer's arguments", initargs);

  const limits = options['resourceLimits'];
  if (limits !== undefined) {
    if (!isObject(limits)) throw wrongType('resourceLimits', 'an object such as { maxOldGenerationSizeMb: 64 }', limits);
    // A misspelt limit (`maxOldGenerationSizeMB`) would leave the worker without the cap it asks for.
    checkOptionKeys(limits, RESOURCE_LIMITS, 'resourceLimits', RESOURCE_LIMIT_HINTS);
    for (const key of RESOURCE_LIMITS) {
      const mb = limits[key];
      if (mb === undefined) continue;
      if (typeof mb !== 'number') throw wrongType(`resourceLimits.${key}`, 'a number of megabytes', mb);
      if (!(mb > 0) || !Number.isFinite(mb)) {
        throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `resourceLimits.${key} must be a positive number of megabytes, not ${mb}`);
      }
    }
  }
  const env = options['env'];
  if (env !== undefined) {
    if (!isObject(env)) throw wrongType('env', "an object of strings, such as { ...process.env, DEBUG: '1' }", env);
    for (const [key, value] of Object.entries(env)) {
      if (value !== undefined && typeof value !== 'string') throw wrongType(`env.${key}`, 'a string (process.env holds strings)', value);
    }
  }
  const name = options['name'];
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw wrongType('name', "a non-empty string, such as 'resizer' (its workers are then resizer-1, resizer-2…)", name);
  }
  return {
    processes,
    minProcesses: min ?? processes,
    idleTimeout: idle === undefined ? DEFAULT_IDLE_TIMEOUT : limitTimeout(idle, 'idleTimeout'),
    initializer: initializer as Function | FunctionReference | undefined,
    initargs,
    maxTasksPerChild: max,
    concurrentTasksPerWorker: atOnce,
    resourceLimits: limits as ResourceLimits | undefined,
    maxQueue: checkMaxQueue(options['maxQueue'], processes),
    env: env === undefined ? undefined : (Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as Record<string, string>),
    argv: checkStrings(options['argv'], 'argv', "['--verbose']"),
    execArgv: checkStrings(options['execArgv'], 'execArgv', "['--enable-source-maps']"),
    name,
    startMethod: checkContext(options['context']),
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

/** `argv`, `execArgv`: an array of strings, copied. */
function checkStrings(value: unknown, name: string, example: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw wrongType(name, `an array of strings, such as ${example}`, value);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') throw wrongType(`${name}[${i}]`, 'a string', value[i]);
  }
  return [...(value as string[])];
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
  if (isObject(chunksize)) {
    // Options given where the chunksize goes: map(fn, items, { timeout }).
    throw misuse(
      TypeError,
      'ERR_MP_CHUNKSIZE',
      'chunksize must be a whole number of items, 1 or more, not an object: options come after it, as in ' +
        'pool.map(fn, items, undefined, { timeout: 1000 })',
    );
  }
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
  checkOptionKeys(options, TASK_OPTION_KEYS, call === 'apply' ? 'apply()' : 'map()');
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
