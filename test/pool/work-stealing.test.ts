// A task sent ahead to a busy worker moves to a worker gone idle instead of waiting behind a long task
// (work stealing, src/pool/dispatch.ts `steal`), and still runs exactly once (src/pool/claims.ts). Python's
// Pool, piscina and tinypool run such a task at once; pipelining stays for tiny tasks. Observed through
// completion order and per-task run counters, never wall time. Stealing needs the claim words, so shared
// memory reaching the workers.
import assert from 'node:assert/strict';
import { notify } from '../../src/runtime/futex.js';
import { ctx, needsSharedMemory, sharedBuffer, test, TIME_SCALE } from '../fixtures/context.js';
import { stillPending, until, within } from '../fixtures/until.js';
import { countRun, holdUntilReleased, holdUntilReleasedAsync, keepRunCounts } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 60_000 * TIME_SCALE, ...needsSharedMemory };

function release(word: Int32Array): void {
  Atomics.store(word, 1, 1);
  notify(word, 1);
}

/** A pool whose workers count each task's runs in `counts`, every worker warm (it ran `countRun`). */
async function countingPool(counts: Int32Array, processes: number, concurrentTasksPerWorker = 1) {
  const pool = new Pool({ processes, concurrentTasksPerWorker, initializer: keepRunCounts, initargs: [counts] });
  await Promise.all(Array.from({ length: processes * 2 }, () => pool.apply(countRun, [0])));
  counts[0] = 0;
  return pool;
}

test('2 workers, [long, quick1, quick2]: quick1, sent ahead behind long, finishes while long still runs', T, async () => {
  const counts = new Int32Array(sharedBuffer(4 * 3));
  const pool = await countingPool(counts, 2);
  const word = new Int32Array(sharedBuffer(8));
  try {
    const long = pool.apply(holdUntilReleased, [word]);
    const quick = [pool.apply(countRun, [1]), pool.apply(countRun, [2])];
    // Without stealing, quick1 waits for long, which runs until released: this fails instead of hanging.
    assert.deepEqual(await within(Promise.all(quick), 'quick1 and quick2 while long runs', 10_000 * TIME_SCALE), [1, 2]);
    assert.ok(await stillPending(long), 'long is still running');
    // It may not have begun yet (taken back itself, or its arguments still being revived).
    await until('long started', () => Atomics.load(word, 0) === 1);
    release(word);
    assert.equal(await within(long, 'long, once released'), 1);
    assert.deepEqual([...counts], [0, 1, 1], 'each quick task ran once');
    assert.equal(Atomics.load(word, 0), 1, 'long ran once');
  } finally {
    release(word);
    await pool.terminate();
  }
});

test('concurrentTasksPerWorker 4 on 2 workers: a task queued as a 5th on one worker moves to a free place on the other', T, async () => {
  const counts = new Int32Array(sharedBuffer(4 * 4));
  const pool = await countingPool(counts, 2, 4);
  const word = new Int32Array(sharedBuffer(8));
  try {
    // Dispatched 5 and 5: one worker holds 4 holders and quick 1 behind them; the other 3 holders and
    // quicks 2 and 3, which finish and leave it a free place.
    const hold = (): Promise<number> => pool.apply(holdUntilReleasedAsync, [word]);
    const holders = [hold(), hold(), hold(), hold()];
    const quick1 = pool.apply(countRun, [1]);
    holders.push(hold(), hold(), hold());
    const quick = [quick1, pool.apply(countRun, [2]), pool.apply(countRun, [3])];
    assert.deepEqual(await within(Promise.all(quick), 'the quick tasks while 7 holders run', 10_000 * TIME_SCALE), [1, 2, 3]);
    for (const holder of holders) assert.ok(await stillPending(holder));
    release(word);
    assert.deepEqual(await within(Promise.all(holders), 'the holders, once released'), [1, 1, 1, 1, 1, 1, 1]);
    assert.equal(Atomics.load(word, 0), 7, 'each holder ran once');
    assert.deepEqual([...counts], [0, 1, 1, 1], 'each quick task ran once');
  } finally {
    release(word);
    await pool.terminate();
  }
});

test('3 workers, 40 bursts of 20 tasks of mixed lengths: every task runs exactly once, in whatever worker', T, async () => {
  const bursts = 40;
  const size = 20;
  const counts = new Int32Array(sharedBuffer(4 * bursts * size));
  const pool = await countingPool(counts, 3);
  try {
    for (let burst = 0; burst < bursts; burst++) {
      // Every fifth task spins a few ms: the others, sent ahead behind it, are taken back as workers run dry.
      const ids = Array.from({ length: size }, (_, i) => burst * size + i);
      const got = await within(Promise.all(ids.map((id) => pool.apply(countRun, [id, id % 5 === 0 ? 3 : 0]))), `burst ${burst}`);
      assert.deepEqual(got, ids);
    }
    const wrong = [...counts].flatMap((count, id) => (count === 1 || id === 0 ? [] : [`task ${id} ran ${count} times`]));
    assert.deepEqual(wrong, []);
    assert.equal(counts[0], 1);
  } finally {
    await pool.terminate();
  }
});
