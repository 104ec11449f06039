/**
 * Child side of the start-method seam: the first code a child runs. It adopts its identity, then runs
 * its role: a `Process` target, or a pool's worker loop. It loads only what the role needs (the rest of
 * the library loads when a payload first holds shared objects), so children start quickly.
 */
import { workerData } from 'node:worker_threads';
import { adoptIdentity, currentProcess, setBootstrapping } from './identity.js';
import type { StartMessage } from './spawn.js';
import { resolveWireFunction } from '../transport/function-ref.js';
import { unpack } from '../transport/payload.js';
import { reportChildError } from './report.js';
import { childListening } from '../transport/shared-buffers.js';
import type { ProcessPayload } from '../process.js';
import type { PoolWorkerPayload } from '../pool/protocol.js';


// 0 once the target has returned (or its promise settled), 1 after an uncaught error, already reported.
async function runProcess(payload: ProcessPayload): Promise<number> {
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

async function main(): Promise<void> {
  const message = workerData as StartMessage;
  childListening(message.buffers);
  adoptIdentity(message.identity);
  if (message.role === 'process') {
    // A child ends as a Node program does: once its target has returned and nothing is left on its event
    // loop (the thread's exit code is then `process.exitCode`, 0 unless the target set it), or at
    // `process.exit`. Python's child likewise waits for its non-daemon threads. An uncaught error ends it
    // at once, as it ends a program.
    if ((await runProcess(message.payload as ProcessPayload)) !== 0) process.exit(1);
  } else if (message.role === 'pool') {
    const { runPoolWorker } = await import('../pool/worker-loop.js');
    await runPoolWorker(message.payload as PoolWorkerPayload);
  }
}

// A fault of the bootstrap itself ends the child, reported, whatever handlers its role installed.
main().catch((error: unknown) => {
  reportChildError(currentProcess().name, error);
  process.exit(1);
});
