/**
 * W3 shared counter: `workers` × `increments` locked increments of one shared
 * int32; the final count must be exact. Figure: increments per second
 * (higher is better), timed from the start gate opening to the last worker
 * finishing, so thread start-up is not counted.
 * Ours: `new Value('i', 0)` + `getLock()` in `Process`es. Reference: a
 * hand-written Atomics futex mutex in raw worker_threads.
 */
import { Worker } from 'node:worker_threads';
import { runCase, check } from './lib/harness.mjs';
import { ours } from './lib/ours.mjs';
import { CROSS_PROCESS_SLICE_MS, createGate, openWhenAllArrived, waitUntilAllFinished } from './lib/gate.mjs';
import { incrementWithValueLock } from './tasks.mjs';

const mutexWorker = new URL('./workers/atomics-mutex-counter.mjs', import.meta.url);

/** @param {number} total @param {number} elapsedMs */
const perSecond = (total, elapsedMs) => total / (elapsedMs / 1000);

runCase({
  async multiprocessing({ workers, increments, startMethod }) {
    const Value = await ours('Value', startMethod);
    const Process = await ours('Process', startMethod);
    const counter = new Value('i', 0);
    const gate = await createGate(startMethod);
    const processes = Array.from({ length: workers }, () =>
      new Process({ target: incrementWithValueLock, args: [counter, gate, increments] }));
    for (const p of processes) p.start();
    const start = await openWhenAllArrived(gate, workers);
    const end = waitUntilAllFinished(gate, workers, undefined, startMethod === 'process' ? CROSS_PROCESS_SLICE_MS : undefined);
    await Promise.all(processes.map((p) => p.join()));
    for (const p of processes) check(p.exitCode === 0, `a worker exited with code ${p.exitCode}`);
    check(counter.value === workers * increments, `final count ${counter.value}, expected ${workers * increments}`);
    return { value: perSecond(workers * increments, end - start) };
  },
  async 'atomics-mutex'({ workers, increments }) {
    const lockWord = new Int32Array(new SharedArrayBuffer(4));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const gate = await createGate();
    const threads = Array.from({ length: workers }, () =>
      new Worker(mutexWorker, { workerData: { lockWord, counter, gate, increments } }));
    const exited = Promise.all(threads.map((t) => new Promise((resolve) => t.once('exit', resolve))));
    const start = await openWhenAllArrived(gate, workers);
    const end = waitUntilAllFinished(gate, workers);
    await exited;
    check(counter[0] === workers * increments, `final count ${counter[0]}, expected ${workers * increments}`);
    return { value: perSecond(workers * increments, end - start) };
  },
});
