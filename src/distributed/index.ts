/**
 * `multiprocessing/distributed`: the same API past one machine, on Redis (BullMQ dispatches the pool's
 * tasks; plain Redis commands and small Lua scripts carry the shared objects). `bullmq` and `ioredis`
 * are optional peer dependencies: the core package never loads them, and this subpath says what to
 * install when they are missing.
 *
 * @example
 * ```ts
 * import { Pool } from 'multiprocessing/distributed';
 * import { cube } from './tasks.js'; // the workers run: npx multiprocessing worker --url … --import ./dist/tasks.js
 * await using pool = new Pool({ url: 'redis://127.0.0.1:6379', namespace: 'jobs' });
 * console.log(await pool.map(cube, [1, 2, 3])); // [1, 8, 27]
 * ```
 */

import { checkPeers } from './peers.js';

// Without bullmq and ioredis, importing the subpath fails here, saying what to install (`peers.ts`).
checkPeers();

// Errors a distributed program meets (the others are those of `multiprocessing`).
export {
  AuthenticationError,
  BackendLostError,
  ConnectionError,
  RemoteError,
  TimeoutError,
  UnknownTaskError,
  WorkerLostError,
  type ErrorCode,
} from '../errors.js';

// ---- Pool (issue 15, part A) -------------------------------------------------------------------
export { Pool, type PoolOptions } from './pool.js';
export type { TaskOptions, PoolFunction } from '../pool/pool.js';
export type { PoolStats, TimeSummary } from '../pool/stats.js';
export { AsyncResult } from '../pool/async-result.js';
export { runWorker, type WorkerOptions, type ClusterWorker } from './worker.js';
export type { Authkey } from './codec.js';

// ---- shared objects: Queue, JoinableQueue, Lock, RLock, Semaphore, Event, Barrier, Value, Array ---
// (issue 15, part B: added here in one block by its author)
export { Queue } from './queues/queue.js';
export { JoinableQueue, type JoinableQueueOptions } from './queues/joinable-queue.js';
export { Lock } from './sync/lock.js';
export { RLock } from './sync/rlock.js';
export type { LeaseOptions } from './sync/lease.js';
export { Semaphore, BoundedSemaphore, type SemaphoreOptions } from './sync/semaphore.js';
export { Event } from './sync/event.js';
export { Barrier, type BarrierOptions } from './sync/barrier.js';
export { Value, type ValueOptions } from './memory/value.js';
export { SharedArray, SharedArray as Array, type ArrayOptions } from './memory/array.js';
export type { DistributedLockOption } from './memory/synchronized.js';
export type { NamedOptions } from './objects/named.js';
export { BrokenBarrierError, Empty, Full, ShutDown } from '../errors.js';
// ---- end of shared objects ------------------------------------------------------------------------
