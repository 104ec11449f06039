/**
 * Parent side of the start-method seam: the one place that starts children. What every start method
 * shares happens here (a seat in the table of live processes, a clear error for a start message that
 * cannot be sent); how the child is started is the start method's starter (`thread/starter.ts`,
 * `process/starter.ts`).
 */
import type { ChildHandle, SpawnOptions, StartMessage } from './child.js';
import { enterChild, markDead, packingFor, recordPid } from './liveness.js';
import { inProcessChild, type StartMethod } from './start-methods.js';
import { startThread } from './thread/starter.js';
import { startProcess } from './process/starter.js';
import { threadOnlyMemoryError, uncloneableError } from '../transport/payload.js';
import { isThreadOnlyMemoryError } from './process/segments.js';

/** Starts one child with its start message; `spawnChild` wraps it with what every start method shares. */
type Starter = (message: StartMessage, options: SpawnOptions) => ChildHandle;

interface StartMethodRuntime {
  readonly start: Starter;
  /** Whether its children are other OS processes: their seats are in the table shared across processes. */
  readonly acrossProcesses: boolean;
}

const starters: Readonly<Record<StartMethod, StartMethodRuntime>> = {
  thread: { start: startThread, acrossProcesses: false },
  process: { start: startProcess, acrossProcesses: true },
};

/**
 * Starts a child with `method`. Throws a `TypeError` naming the path if the payload cannot be cloned.
 *
 * The child gets a seat in the table of live processes, and is marked dead there when this thread sees
 * it exit: the listener is added before the caller's, so whoever reacts to the exit (a `join()`, a
 * pool replacing its worker) already finds the locks it held recoverable. A `message` given as a
 * function is made once the child has its seat, so what it packs counts as the child's (`packingFor`).
 */
export function spawnChild(method: StartMethod, message: StartMessage | (() => StartMessage), options: SpawnOptions): ChildHandle {
  const runtime = starters[method];
  const seat = enterChild(options.name, runtime.acrossProcesses);
  try {
    if (typeof message === 'function') message = packingFor(seat?.token, message);
    const identity = seat === undefined ? message.identity : { ...message.identity, seat };
    const inProcess = runtime.acrossProcesses || inProcessChild();
    const child = runtime.start({ ...message, identity, ...(inProcess ? { inProcessChild: true } : {}) }, options);
    if (seat !== undefined) {
      if (runtime.acrossProcesses) recordPid(seat.token, child.pid);
      child.on('exit', () => markDead(seat.token));
    }
    return child;
  } catch (error) {
    if (seat !== undefined) markDead(seat.token);
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw uncloneableError(options.payloadForErrors, options.payloadLabel, error);
    }
    if (isThreadOnlyMemoryError(error)) throw threadOnlyMemoryError(options.packedParts ?? { [options.payloadLabel]: options.payloadForErrors }, error);
    throw error;
  }
}
