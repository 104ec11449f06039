/**
 * A start gate and a finish counter in one shared Int32Array, so that W3 and W4
 * time only the work: workers arrive, block until the main thread opens the
 * gate, and count themselves finished. Thread start-up (which differs between
 * implementations and is measured on its own in W5) stays out of the figure.
 */

const ARRIVED = 0;
const OPEN = 1;
const FINISHED = 2;

export function createGate() {
  return new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
}

/** Worker side: announce arrival, then block until the gate opens. @param {Int32Array} gate */
export function arriveAndWaitForStart(gate) {
  Atomics.add(gate, ARRIVED, 1);
  Atomics.notify(gate, ARRIVED);
  while (Atomics.load(gate, OPEN) === 0) Atomics.wait(gate, OPEN, 0);
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
      await Atomics.waitAsync(gate, ARRIVED, arrived, 50).value;
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
 * @param {Int32Array} gate @param {number} parties @param {number} [timeoutMs]
 */
export function waitUntilAllFinished(gate, parties, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const finished = Atomics.load(gate, FINISHED);
    if (finished >= parties) return performance.now();
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`only ${finished} of ${parties} workers finished in time`);
    Atomics.wait(gate, FINISHED, finished, Math.min(left, 1000));
  }
}
