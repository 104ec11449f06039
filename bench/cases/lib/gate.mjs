/**
 * A start gate and a finish counter in one shared Int32Array, so that W3 and W4
 * time only the work: workers arrive, block until the main thread opens the
 * gate, and count themselves finished. Thread start-up (which differs between
 * implementations and is measured on its own in W5) stays out of the figure.
 *
 * Across processes (the `-process` rows) the gate lives in our library's process-shared memory, and
 * `Atomics.notify` does not reach another process: so every wait also wakes on its own, in slices of
 * `CROSS_PROCESS_SLICE_MS`, and the main side's finish wait takes the slice when asked.
 */
import { ours } from './ours.mjs';

/** The longest a waiter sleeps before it looks again, when its waker may be in another process. */
export const CROSS_PROCESS_SLICE_MS = 1;

const ARRIVED = 0;
const OPEN = 1;
const FINISHED = 2;

/** A gate in memory the children of `startMethod` share (default: this process's threads). */
export async function createGate(startMethod = 'thread') {
  if (startMethod === 'thread') return new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const RawArray = await ours('RawArray', startMethod);
  return new RawArray('i', 3);
}

/** Worker side: announce arrival, then block until the gate opens. @param {Int32Array} gate */
export function arriveAndWaitForStart(gate) {
  Atomics.add(gate, ARRIVED, 1);
  Atomics.notify(gate, ARRIVED);
  while (Atomics.load(gate, OPEN) === 0) Atomics.wait(gate, OPEN, 0, CROSS_PROCESS_SLICE_MS);
}

/** Worker side: count this worker finished. @param {Int32Array} gate */
export function signalFinished(gate) {
  Atomics.add(gate, FINISHED, 1);
  Atomics.notify(gate, FINISHED);
}

/**
 * Main side: wait (without blocking the event loop, which the workers may
 * need while starting) until `parties` workers have arrived, then open the
 * gate. Returns the time it opened.
 * @param {Int32Array} gate @param {number} parties @param {number} [timeoutMs]
 */
export async function openWhenAllArrived(gate, parties, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  // A pending Atomics.waitAsync does not keep Node's event loop alive: without
  // this timer a worker that died before arriving would end the process silently.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    for (;;) {
      const arrived = Atomics.load(gate, ARRIVED);
      if (arrived >= parties) break;
      if (performance.now() > deadline) throw new Error(`only ${arrived} of ${parties} workers reached the start gate`);
      await Atomics.waitAsync(gate, ARRIVED, arrived, CROSS_PROCESS_SLICE_MS).value;
    }
  } finally {
    clearInterval(keepAlive);
  }
  const openedAt = performance.now();
  Atomics.store(gate, OPEN, 1);
  Atomics.notify(gate, OPEN);
  return openedAt;
}

/**
 * Main side: block until `parties` workers have finished. Blocking is fine
 * here: by then every worker is running and needs nothing from this thread.
 * `sliceMs`: the longest sleep between looks (`CROSS_PROCESS_SLICE_MS` when the workers are processes).
 * @param {Int32Array} gate @param {number} parties @param {number} [timeoutMs] @param {number} [sliceMs]
 */
export function waitUntilAllFinished(gate, parties, timeoutMs = 120_000, sliceMs = 1000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const finished = Atomics.load(gate, FINISHED);
    if (finished >= parties) return performance.now();
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`only ${finished} of ${parties} workers finished in time`);
    Atomics.wait(gate, FINISHED, finished, Math.min(left, sliceMs));
  }
}
