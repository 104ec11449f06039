/**
 * The library's error classes. Each has a stable `code` (`ERR_MP_…`) to match on, and keeps its class
 * when it crosses back from a worker.
 */

/**
 * Every `code` an error thrown by this library can carry, so code can narrow on it:
 * `if (error.code === 'ERR_MP_EMPTY') …`. Each class below has one; misuse errors (built-in classes such
 * as `TypeError`) carry the one that names the misuse.
 */
export type ErrorCode =
  | 'ERR_MP_ARRAY_SIZE'
  | 'ERR_MP_AUTHENTICATION'
  | 'ERR_MP_BACKEND_LOST'
  | 'ERR_MP_BAD_MESSAGE_LENGTH'
  | 'ERR_MP_BARRIER_ACTION'
  | 'ERR_MP_BARRIER_PARTIES'
  | 'ERR_MP_BOOTSTRAPPING'
  | 'ERR_MP_BROKEN_BARRIER'
  | 'ERR_MP_BROKEN_PIPE'
  | 'ERR_MP_BUFFER_TOO_SHORT'
  | 'ERR_MP_CHUNKSIZE'
  | 'ERR_MP_CONDITION_LOCK'
  | 'ERR_MP_CONDITION_NOTIFY'
  | 'ERR_MP_CONDITION_NOT_ACQUIRED'
  | 'ERR_MP_CONDITION_WAITERS'
  | 'ERR_MP_CONNECTION'
  | 'ERR_MP_CONTEXT_SET'
  | 'ERR_MP_CORRUPT_RECORD'
  | 'ERR_MP_DAEMON_CHILDREN'
  | 'ERR_MP_EMPTY'
  | 'ERR_MP_EOF'
  | 'ERR_MP_FULL'
  | 'ERR_MP_FUNCTION_CHANGED'
  | 'ERR_MP_FUNCTION_NOT_FOUND'
  | 'ERR_MP_FUNCTION_UNSENDABLE'
  | 'ERR_MP_HANDLE_CLOSED'
  | 'ERR_MP_INDEX_OUT_OF_RANGE'
  | 'ERR_MP_INTERNAL'
  | 'ERR_MP_INVALID_ARG'
  | 'ERR_MP_INVALID_TIMEOUT'
  | 'ERR_MP_LOCK_LOST'
  | 'ERR_MP_LOCK_NOT_HELD'
  | 'ERR_MP_LOCK_OPTION'
  | 'ERR_MP_MAX_TASKS'
  | 'ERR_MP_MESSAGE_TOO_LARGE'
  | 'ERR_MP_MISSING_DEPENDENCY'
  | 'ERR_MP_NOT_DISTRIBUTED'
  | 'ERR_MP_NOT_READY'
  | 'ERR_MP_NO_LOCK'
  | 'ERR_MP_NATIVE_UNAVAILABLE'
  | 'ERR_MP_OBJECT_LOST'
  | 'ERR_MP_OUT_OF_MEMORY'
  | 'ERR_MP_POOL_NOT_RUNNING'
  | 'ERR_MP_POOL_RUNNING'
  | 'ERR_MP_POOL_SIZE'
  | 'ERR_MP_POOL_TERMINATED'
  | 'ERR_MP_QUEUE_FULL'
  | 'ERR_MP_PROCESS'
  | 'ERR_MP_PROCESS_CLOSED'
  | 'ERR_MP_PROCESS_NOT_STARTED'
  | 'ERR_MP_PROCESS_RUNNING'
  | 'ERR_MP_PROCESS_STARTED'
  | 'ERR_MP_QUEUE_CLOSED'
  | 'ERR_MP_QUEUE_NOT_CLOSED'
  | 'ERR_MP_READ_ONLY'
  | 'ERR_MP_REMOTE'
  | 'ERR_MP_RLOCK_NOT_OWNED'
  | 'ERR_MP_RUNTIME_MISMATCH'
  | 'ERR_MP_SEGMENT_GONE'
  | 'ERR_MP_SEMAPHORE_OVERFLOW'
  | 'ERR_MP_SEMAPHORE_OVER_RELEASED'
  | 'ERR_MP_SEMAPHORE_VALUE'
  | 'ERR_MP_SHARED_BUFFER_LOST'
  | 'ERR_MP_SHARED_MEMORY_CLOSED'
  | 'ERR_MP_SHARED_MEMORY_EXISTS'
  | 'ERR_MP_SHARED_MEMORY_NOT_FOUND'
  | 'ERR_MP_SHUTDOWN'
  | 'ERR_MP_START_METHOD'
  | 'ERR_MP_SYSCALL'
  | 'ERR_MP_TASK_DONE_TOO_MANY'
  | 'ERR_MP_TIMEOUT'
  | 'ERR_MP_TYPECODE'
  | 'ERR_MP_TYPESCRIPT_LOADER'
  | 'ERR_MP_UNCLONEABLE'
  | 'ERR_MP_UNKNOWN_TASK'
  | 'ERR_MP_UNKNOWN_KIND'
  | 'ERR_MP_UNSUPPORTED'
  | 'ERR_MP_VALUE_KIND'
  | 'ERR_MP_VALUE_TOO_LONG'
  | 'ERR_MP_WORKER_LOST'
  | 'ERR_MP_WRITE_ONLY';

/** Base of the errors about processes, as in Python (`multiprocessing.ProcessError`). */
export class ProcessError extends Error {
  readonly code: ErrorCode = 'ERR_MP_PROCESS';
  override name = 'ProcessError';
}

/** A wait ran out of time (`AsyncResult.get(timeout)`, `Process.join` helpers). Not the same as `Empty`/`Full`. */
export class TimeoutError extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_TIMEOUT';
  override name = 'TimeoutError';
}

/** A connection's authentication failed. */
export class AuthenticationError extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_AUTHENTICATION';
  override name = 'AuthenticationError';
}

/** `Connection.recvBytesInto` was given a buffer too small for the message; the message is in `args[0]`. */
export class BufferTooShort extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_BUFFER_TOO_SHORT';
  override name = 'BufferTooShort';
  readonly args: unknown[];
  constructor(message: string, data?: Uint8Array) {
    super(message);
    this.args = [data ?? message];
  }
}

/** `get` on an empty queue without waiting, or after its timeout. */
export class Empty extends Error {
  readonly code: ErrorCode = 'ERR_MP_EMPTY';
  override name = 'Empty';
}

/** `put` on a full queue without waiting, or after its timeout. */
export class Full extends Error {
  readonly code: ErrorCode = 'ERR_MP_FULL';
  override name = 'Full';
}

/** The queue was shut down (`Queue.shutdown()`): no more puts, and gets once it is drained. */
export class ShutDown extends Error {
  readonly code: ErrorCode = 'ERR_MP_SHUTDOWN';
  override name = 'ShutDown';
}

/** A barrier was broken (`abort()`, `reset()`, a timeout, or a failing action) while threads waited on it. */
export class BrokenBarrierError extends Error {
  readonly code: ErrorCode = 'ERR_MP_BROKEN_BARRIER';
  override name = 'BrokenBarrierError';
}

/** The worker running a task died (`process.exit`, out of memory, terminated) before the task finished. */
export class WorkerLostError extends Error {
  readonly code: ErrorCode = 'ERR_MP_WORKER_LOST';
  override name = 'WorkerLostError';
  /** The dead worker's exit code, when known. */
  exitCode: number | null = null;
}

/**
 * An error thrown in a worker that could not be rebuilt here as itself (say, one holding values that
 * cannot be cloned). It keeps the original's class name, message and stack.
 */
export class RemoteError extends Error {
  readonly code: ErrorCode = 'ERR_MP_REMOTE';
  override name = 'RemoteError';
  /** The class name of the original error, as the worker saw it. */
  remoteName = 'Error';
}

/**
 * A distributed backend (`multiprocessing/distributed`) could not be reached, or stopped answering: the
 * message names the URL (without its password) and the cause.
 */
export class ConnectionError extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_CONNECTION';
  override name = 'ConnectionError';
}

/**
 * The distributed backend lost its state while a task was outstanding (Redis restarted without
 * persistence, or stayed unreachable): the task may or may not have run, and its result is gone.
 */
export class BackendLostError extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_BACKEND_LOST';
  override name = 'BackendLostError';
}

/**
 * No worker of the namespace runs the task: the workers do not import its module (`--import`), or the
 * module they import does not export that function (another build). The message names the fix.
 */
export class UnknownTaskError extends ProcessError {
  override readonly code: ErrorCode = 'ERR_MP_UNKNOWN_TASK';
  override name = 'UnknownTaskError';
}

/** The other end of a pipe was closed and nothing is left to receive (Python's `EOFError`). */
export class EOFError extends Error {
  readonly code: ErrorCode = 'ERR_MP_EOF';
  override name = 'EOFError';
}

/** Every error class above, by name: used to rebuild errors that cross back from workers. */
export const errorClasses = {
  ProcessError,
  TimeoutError,
  AuthenticationError,
  BufferTooShort,
  Empty,
  Full,
  ShutDown,
  BrokenBarrierError,
  WorkerLostError,
  RemoteError,
  EOFError,
  ConnectionError,
  BackendLostError,
  UnknownTaskError,
} as const;

/**
 * A built-in error (`TypeError`, `RangeError`, `Error`) with a stable `code`, for misuse such as a wrong
 * typecode or releasing an unlocked lock. Keep Python's wording in `message` where Python has one.
 */
export function misuse<E extends Error>(
  ErrorClass: new (message: string, options?: ErrorOptions) => E,
  code: ErrorCode,
  message: string,
  options?: ErrorOptions,
): E & { code: ErrorCode } {
  const error = new ErrorClass(message, options) as E & { code: ErrorCode };
  error.code = code;
  return error;
}

/**
 * How a misuse message names a wrong value: `the string "2"`, `number -1`, `null`, `an object`,
 * `an array`. One style for every argument check (`<name> must be …, not <this>`).
 *
 * @example `describeValue('2') // 'the string "2"'`
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value)})` : `${typeof value} ${String(value)}`;
}
