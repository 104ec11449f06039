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

// Errors a distributed program meets (the others are those of `multiprocessing`).
export { AuthenticationError, BackendLostError, ConnectionError, RemoteError, TimeoutError, WorkerLostError, type ErrorCode } from '../errors.js';

// ---- Pool (issue 15, part A) -------------------------------------------------------------------

// ---- shared objects: Queue, JoinableQueue, Lock, RLock, Semaphore, Event, Barrier, Value, Array ---
// (issue 15, part B: added here in one block by its author)
// ---- end of shared objects ------------------------------------------------------------------------
