// An onProgress callback that throws is treated as a throwing callback is (reported on
// stderr, the result settles as it would have). Issue 10: under imap it crashed the program, and it
// turned a successful apply or map into a rejection.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';
import { cube } from '../fixtures/pool/tasks.js';
import { within } from '../fixtures/until.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('an onProgress that throws is reported on stderr; apply, map and imap deliver every result', T, async (t) => {
  const written: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  const pool = new Pool(2);
  let calls = 0;
  const onProgress = (): void => {
    calls += 1;
    throw new Error(`progress boom ${calls}`);
  };
  try {
    assert.equal(await pool.apply(cube, [3], { onProgress }), 27);
    assert.deepEqual(await pool.map(cube, [1, 2, 3], 1, { onProgress }), [1, 8, 27]);
    const results: number[] = [];
    for await (const y of pool.imap(cube, [4, 5, 6, 7], 1, { onProgress })) results.push(y);
    assert.deepEqual(results, [64, 125, 216, 343]);
    const unordered: number[] = [];
    const it = pool.imapUnordered(cube, [1, 2], 1, { onProgress });
    for await (const y of it) unordered.push(y);
    assert.deepEqual(unordered.sort((a, b) => a - b), [1, 8]);
    assert.equal(await within(pool.apply(cube, [2]), 'the pool after throwing callbacks'), 8);
  } finally {
    await pool.terminate();
  }
  assert.equal(calls, 1 + 3 + 4 + 2);
  const text = written.join('');
  assert.equal(text.match(/multiprocessing: an onProgress callback threw; the result is unaffected:\nError: progress boom \d+/g)?.length, 10);
});
