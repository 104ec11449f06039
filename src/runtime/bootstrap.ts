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
  try {
    await target?.(...args);
    return 0;
  } catch (error) {
    reportChildError(currentProcess().name, error);
    return 1;
  }
}

async function main(): Promise<void> {
  const message = workerData as StartMessage;
  childListening(message.buffers);
  adoptIdentity(message.identity);
  if (message.role === 'process') {
    // As in Python, the child ends when its target returns, whatever timers it left behind.
    process.exit(await runProcess(message.payload as ProcessPayload));
  } else if (message.role === 'pool') {
    const { runPoolWorker } = await import('../pool/worker-loop.js');
    await runPoolWorker(message.payload as PoolWorkerPayload);
  }
}

void main();
