// Targets of the smoke programs (smoke.ts, smoke-process.ts): a module of their own, which children
// import by reference, on every runtime.
import type { Lock as LockType, Queue as QueueType, Value as ValueType } from 'multiprocessing';

/** `n` increments of `counter` under `lock`. */
export function add(counter: ValueType<number>, lock: LockType, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.acquire();
    counter.value += 1;
    lock.release();
  }
}

/** Puts `{ i }` for i in 0..n-1, then `null`. */
export function produce(q: QueueType<{ i: number } | null>, n: number): void {
  for (let i = 0; i < n; i++) q.put({ i });
  q.put(null);
}

/** Runs until terminated. */
export function forever(): void {
  const word = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(word, 0, 0, 1000);
}
