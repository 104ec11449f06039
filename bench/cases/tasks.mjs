/**
 * The work itself, identical for every implementation. Our Pool and Process
 * receive these functions by module reference (they are exported from a module
 * that is not the entry script); the peers' worker files import them too, so
 * every implementation runs exactly the same code.
 */
import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arriveAndWaitForStart, signalFinished } from './lib/gate.mjs';

/** W1: a task far smaller than the cost of dispatching it. @param {number} x */
export function cube(x) {
  return x * x * x;
}

/** W1a for peers, which have no map: one task cubes a whole chunk. @param {number[]} xs */
export function cubeAll(xs) {
  return xs.map(cube);
}

/** W2: CPU-bound, deliberately naive recursion. @param {number} n @returns {number} */
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** W7: trial division, the natural first program of Python's tutorial; cost grows with n. @param {number} n */
export function isPrime(n) {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** W7 for peers, which have no map: one task tests a whole chunk. @param {number[]} ns */
export function isPrimeAll(ns) {
  return ns.map(isPrime);
}

/**
 * W8: a realistic small task: hash a record's text, return a small record.
 * @param {{ id: number, text: string }} record
 */
export function digestRecord(record) {
  return { id: record.id, digest: createHash('sha256').update(record.text).digest('hex'), length: record.text.length };
}

/** W8 for peers: one task digests a whole chunk. @param {{ id: number, text: string }[]} records */
export function digestRecords(records) {
  return records.map(digestRecord);
}

/**
 * W6: sums a Float64Array, a Float64Array over a SharedArrayBuffer, or our
 * shared `Array('d')` (which reads by index like a typed array).
 * @param {ArrayLike<number>} values
 */
export function sumValues(values) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum;
}

/**
 * W3 for our library: locked increments of a shared `Value` through its own lock.
 * Waits at the start gate so process start-up stays out of the timing.
 * @param {{ value: number, getLock(): { acquire(): boolean, release(): void } }} counter
 * @param {Int32Array} gate
 * @param {number} increments
 */
export function incrementWithValueLock(counter, gate, increments) {
  const lock = counter.getLock();
  arriveAndWaitForStart(gate);
  for (let i = 0; i < increments; i++) {
    lock.acquire();
    counter.value += 1;
    lock.release();
  }
  signalFinished(gate);
}

/**
 * W4 for our library: one producer puts `{ i, s }` items on a shared Queue.
 * @param {{ put(item: unknown): void }} queue @param {Int32Array} gate @param {number} count
 */
export function produceIntoQueue(queue, gate, count) {
  arriveAndWaitForStart(gate);
  for (let i = 0; i < count; i++) queue.put({ i, s: 'item-' + i });
}

/** W9: an I/O-bound task: it only awaits a 10 ms timer, then returns its argument. @param {number} x */
export async function waitTenMs(x) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return x;
}

/**
 * W10-lost: a chunk whose first run records its process (a file `started-<pid>` in `dir`) and then
 * holds for `ms`, long enough to be killed mid-chunk; a re-run, which finds a record already there,
 * records its own and returns at once. Returns the pid of the process that finished it.
 * @param {string} dir @param {number} ms
 */
export async function holdUnlessRerun(dir, ms) {
  const rerun = readdirSync(dir).length > 0;
  writeFileSync(join(dir, `started-${process.pid}`), '');
  if (!rerun) await new Promise((resolve) => setTimeout(resolve, ms));
  return process.pid;
}
