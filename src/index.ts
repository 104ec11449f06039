/**
 * `multiprocessing`: Python's multiprocessing for TypeScript on Node.js.
 *
 * @example
 * ```ts
 * import { Process, Value, Array, Lock, Queue, Pool, cpuCount } from 'multiprocessing';
 * ```
 * @packageDocumentation
 */
export * from './api.js';

// The context objects carry this whole namespace, with some classes bound (context.ts).
import * as api from './api.js';
import { provideApi } from './context.js';
provideApi(api, import.meta.url);
