/**
 * Child side of `Process`: resolves the target and its arguments, runs it, and ends the child as a Node
 * program ends.
 */
import { currentProcess, setBootstrapping } from '../runtime/identity.js';
import { reportChildError } from '../runtime/report.js';
import { defineRole } from '../runtime/child.js';
import { resolveWireFunction, unpack } from '../transport/unpack.js';
import type { WireFunction } from '../transport/wire-function.js';
import type { Packed } from '../transport/payload.js';

/** What a `Process` child is sent. */
export interface ProcessPayload {
  readonly target: WireFunction | null;
  readonly args: Packed;
}

// 0 once the target has returned (or its promise settled), 1 after an uncaught error, already reported.
async function runTarget(payload: ProcessPayload): Promise<number> {
  let target: Function | undefined;
  let args: unknown[];
  setBootstrapping(true);
  try {
    target = payload.target === null ? undefined : await resolveWireFunction(payload.target);
    args = (await unpack(payload.args)) as unknown[];
  } catch (error) {
    reportChildError(currentProcess().name, error);
    return 1;
  } finally {
    setBootstrapping(false);
  }
  // The child lives while its target runs, even when all the target awaits is a wait on shared memory
  // (a pending async wait keeps no thread alive by itself): the parent, alive while this child runs,
  // may end that wait.
  const running = setInterval(() => {}, 1 << 30);
  try {
    await target?.(...args);
    return 0;
  } catch (error) {
    reportChildError(currentProcess().name, error);
    return 1;
  } finally {
    clearInterval(running);
  }
}

/**
 * The role a `Process` starts its child with. The child ends as a Node program does: once its target
 * has returned and nothing is left on its event loop (its exit code is then `process.exitCode`, 0 unless
 * the target set it), or at `process.exit`. Python's child likewise waits for its non-daemon threads.
 * An uncaught error ends it at once, as it ends a program.
 */
async function runProcessChild(payload: ProcessPayload): Promise<void> {
  if ((await runTarget(payload)) !== 0) process.exit(1);
}

/** How `Process` names this role in its start message. */
export const processChildRole = defineRole('process', runProcessChild, import.meta.url);
