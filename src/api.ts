/**
 * Everything the package exports (`index.ts` re-exports it, and hands it to `context.ts`, whose
 * contexts carry it all).
 */

// Errors
export {
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
  type ErrorCode,
} from './errors.js';

// Transport: the reduce/revive protocol for shareable classes
export { reduce, registerShareable, type Shareable, type Reduced, type ShareableOptions } from './transport/shareable.js';

// --- processes (foundation) ---
export { Process, activeChildren, type ProcessOptions, type Target } from './process/process.js';
export { currentProcess, parentProcess, type ProcessInfo } from './runtime/identity.js';
export { cpuCount } from './runtime/cpu-count.js';
export {
  getContext,
  getStartMethod,
  setStartMethod,
  getAllStartMethods,
  type Context,
  type StartMethod,
} from './context.js';
export type { FunctionReference } from './transport/wire-function.js';

// --- shared memory and synchronization ---
export { Value, RawValue, type ValueOptions } from './memory/value.js';
export { type LockOption, type Synchronized } from './memory/synchronized.js';
export {
  SharedArray,
  SharedArray as Array,
  RawArray,
  type ArrayOptions,
  type SharedArrayMembers,
  type CharArrayMembers,
  type SharedArrayConstructor,
  type RawArrayConstructor,
  type SizeOrValues,
} from './memory/array.js';
export type { TypeCode, PythonTypeCode, TypeCodeAlias, TypedArrayOf, ValueOf, InitialOf, ElementOf } from './memory/typecodes.js';
export { SharedMemory, type SharedMemoryOptions } from './memory/shared-memory-block.js';
export {
  ShareableList,
  type ShareableListItem,
  type ShareableListItemOf,
  type ShareableListOptions,
  type ShareableListConstructor,
} from './memory/shareable-list.js';
export { Lock } from './sync/lock.js';
export { RLock } from './sync/rlock.js';
export { Semaphore, BoundedSemaphore } from './sync/semaphore.js';
export { Condition } from './sync/condition.js';
export { Event } from './sync/event.js';
export { Barrier, type BarrierOptions } from './sync/barrier.js';
export type { WaitArg, WaitOptions, AbortOptions } from './sync/wait-options.js';

// --- queues and pipes ---
export { Queue } from './queues/queue.js';
export { JoinableQueue } from './queues/joinable-queue.js';
export { SimpleQueue } from './queues/simple-queue.js';
export { Pipe, Connection } from './queues/pipe.js';

// --- pool ---
export { Pool, type PoolOptions, type TaskOptions, type PoolFunction, type TransferItem } from './pool/pool.js';
export type { PoolStats, TimeSummary } from './pool/stats.js';
export { AsyncResult, type Callbacks } from './pool/async-result.js';
