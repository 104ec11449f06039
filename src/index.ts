/**
 * `multiprocessing`: Python's multiprocessing for TypeScript on Node.js.
 *
 * @example
 * ```ts
 * import { Process, Value, Array, Lock, Queue, Pool, cpuCount } from 'multiprocessing';
 * ```
 * @packageDocumentation
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
} from './errors.js';

// Transport: the reduce/revive protocol for shareable classes
export { reduce, registerShareable, type Shareable, type Reduced } from './transport/shareable.js';

// --- processes (foundation) ---

// --- shared memory and synchronization ---

// --- queues and pipes ---

// --- pool ---
