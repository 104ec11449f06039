/** Shared answer checks: a wrong answer must fail the row, never pass silently. */
import { check, now } from './harness.mjs';
import { fib } from '../tasks.mjs';

/** Python's Pool.map default chunksize: ceil(n / (4 × workers)). */
export function pythonChunksize(items, workers) {
  return Math.max(1, Math.ceil(items / (4 * workers)));
}

/** Every result is the cube of its index, in order (exact: 199,999³ < 2⁵³). @param {unknown} results @param {number} items */
export function checkCubesInOrder(results, items) {
  check(Array.isArray(results), `results are not an array (${typeof results})`);
  const list = /** @type {number[]} */ (results);
  check(list.length === items, `expected ${items} results, got ${list.length}`);
  for (let i = 0; i < items; i++) {
    check(list[i] === i * i * i, `result ${i} is ${list[i]}, expected ${i * i * i}`);
  }
}

/** Reference value for W2, computed iteratively (not by the function under test). @param {number} n */
export function fibonacci(n) {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/** W2's serial time: `tasks` × fib(n) on this thread, checked; in ms. @param {number} tasks @param {number} n */
export function measureSerialFibs(tasks, n) {
  const start = now();
  let checksum = 0;
  for (let i = 0; i < tasks; i++) checksum += fib(n);
  const elapsed = now() - start;
  check(checksum === tasks * fibonacci(n), `serial checksum ${checksum}`);
  return elapsed;
}

/** W2's results: `tasks` values of fib(n). @param {unknown[]} results @param {number} tasks @param {number} n */
export function checkFibs(results, tasks, n) {
  check(Array.isArray(results) && results.length === tasks, `expected ${tasks} results`);
  const expected = fibonacci(n);
  results.forEach((value, i) => check(value === expected, `result ${i} is ${value}, expected fib(${n}) = ${expected}`));
}

/** W2's figures: the parallel time, and the speedup over the serial one. @param {number} serialMs @param {number} parallelMs */
export function fibFigures(serialMs, parallelMs) {
  return { value: parallelMs, extra: { serialMs, speedup: serialMs / parallelMs } };
}
