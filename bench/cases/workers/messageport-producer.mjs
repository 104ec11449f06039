/**
 * W4 reference: the raw way to stream items to the main thread — a
 * MessagePort, one postMessage per item.
 */
import { workerData } from 'node:worker_threads';
import { arriveAndWaitForStart } from '../lib/gate.mjs';

const { port, gate, count } = workerData;
arriveAndWaitForStart(gate);
for (let i = 0; i < count; i++) port.postMessage({ i, s: 'item-' + i });
port.close();
