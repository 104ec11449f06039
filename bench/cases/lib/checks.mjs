/** Shared answer checks: a wrong answer must fail the row, never pass silently. */
import { check } from './harness.mjs';

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
