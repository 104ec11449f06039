// Large arguments: copied by default (the parent's array stays intact), moved with `transfer`, and many
// large tasks submitted at once (held back a few at a time per worker) all finish with the right result.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };

const sum = (values: Float64Array): number => {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
};

function filled(length: number, k: number): Float64Array {
  const values = new Float64Array(length);
  for (let i = 0; i < length; i++) values[i] = (i % 100) + k;
  return values;
}

test('40 tasks of 2 MiB each, all submitted at once, are copied and every sum is right', T, async () => {
  await using pool = new Pool(2);
  const arrays = Array.from({ length: 40 }, (_, k) => filled(262_144, k));
  const sums = await Promise.all(arrays.map((values) => pool.apply(sum, [values])));
  sums.forEach((total, k) => assert.equal(total, sum(arrays[k]!), `sum ${k}`));
  assert.ok(arrays.every((values) => values.byteLength === 2 * 1024 * 1024), 'the parent keeps its arrays');
});

test('large and small tasks interleaved all settle with their own results', T, async () => {
  await using pool = new Pool(3);
  const square = (x: number): number => x * x;
  const jobs: Promise<number>[] = [];
  for (let k = 0; k < 30; k++) {
    jobs.push(pool.apply(sum, [filled(200_000, k)]));
    for (let j = 0; j < 20; j++) jobs.push(pool.apply(square, [k * 20 + j]));
  }
  const results = await Promise.all(jobs);
  let at = 0;
  for (let k = 0; k < 30; k++) {
    assert.equal(results[at++], sum(filled(200_000, k)), `large task ${k}`);
    for (let j = 0; j < 20; j++) assert.equal(results[at++], (k * 20 + j) ** 2, `small task ${k}.${j}`);
  }
});

test('transfer moves the buffer instead of copying it', T, async () => {
  await using pool = new Pool(2);
  const values = filled(131_072, 3);
  const expected = sum(values);
  const total = await pool.apply(sum, [values], { transfer: [values.buffer] });
  assert.equal(total, expected);
  assert.equal(values.byteLength, 0, 'the parent no longer holds the buffer');
});
