/**
 * W6 reference: a hand-written worker_threads worker that sums each Float64Array it is sent and
 * answers with its id, the way a user without a pool library would write it.
 */
import { parentPort } from 'node:worker_threads';
import { sumValues } from '../tasks.mjs';

parentPort.on('message', ({ id, values }) => parentPort.postMessage({ id, sum: sumValues(values) }));
