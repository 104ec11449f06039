/**
 * W7 and W8 reference: a hand-written worker_threads worker that runs one chunk per message, the way a
 * user without a pool library would write it. W7 chunks arrive as an Int32Array and leave as a
 * Uint8Array, both moved rather than cloned; W8 chunks are arrays of records, cloned both ways.
 */
import { parentPort } from 'node:worker_threads';
import { isPrime, digestRecords } from '../tasks.mjs';

parentPort.on('message', ({ id, task, items }) => {
  if (task === 'isPrime') {
    const out = new Uint8Array(items.length);
    for (let i = 0; i < items.length; i++) out[i] = isPrime(items[i]) ? 1 : 0;
    parentPort.postMessage({ id, results: out }, [out.buffer]);
  } else {
    parentPort.postMessage({ id, results: digestRecords(items) });
  }
});
