/**
 * Parent side of the start-method seam: the one place that starts children. What every start method
 * shares happens here (a seat in the table of live processes, a clear error for a start message that
 * cannot be sent); how the child is started is the start method's starter (`thread/starter.ts`,
 * `process/starter.ts`).
 */
import type { ChildHandle, SpawnOptions, StartMessage } from './child.js';
import { enterChild, markDead } from './liveness.js';
import type { StartMethod } from './start-methods.js';
import { startThread } from './thread/starter.js';
import { startProcess } from './process/starter.js';
import { uncloneableError } from '../transport/payload.js';

/** Starts one child with its start message; `spawnChild` wraps it with what every start method shares. */
type Starter = (message: StartMessage, options: SpawnOptions) => ChildHandle;

interface StartMethodRuntime {
  readonly start: Starter;
  /**
   * Whether its children share this process's table of live processes (`liveness.ts`). A process child
   * cannot until the table lives in memory shared across processes: it keeps a table of its own.
   */
  readonly sharesLiveness: boolean;
}

const starters: Readonly<Record<StartMethod, StartMethodRuntime>> = {
  thread: { start: startThread, sharesLiveness: true },
  process: { start: startProcess, sharesLiveness: false },
};

/**
 * Starts a child with `method`. Throws a `TypeError` naming the path if the payload cannot be cloned.
 *
 * The child gets a seat in the table of live processes, and is marked dead there when this thread sees
 * it exit: the listener is added before the caller's, so whoever reacts to the exit (a `join()`, a
 * pool replacing its worker) already finds the locks it held recoverable.
 */
export function spawnChild(method: StartMethod, message: StartMessage, options: SpawnOptions): ChildHandle {
  const runtime = starters[method];
  const seat = runtime.sharesLiveness ? enterChild(options.name) : undefined;
  try {
    const identity = seat === undefined ? message.identity : { ...message.identity, seat };
    const child = runtime.start({ ...message, identity }, options);
    if (seat !== undefined) child.on('exit', () => markDead(seat.token));
    return child;
  } catch (error) {
    if (seat !== undefined) markDead(seat.token);
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw uncloneableError(options.payloadForErrors, options.payloadLabel, error);
    }
    throw error;
  }
}
