// A worker that dies, however it dies, loses only the tasks it had started: the tasks sent ahead to it
// (a worker holds a few beyond the one it runs) run elsewhere, once each. Python's Pool never loses a
// task that did not start. Known through each worker's claim word (src/pool/claims.ts), so it needs
// shared memory to reach the worker.
import assert from 'node:assert/strict';
import { WorkerLostError } from '../../src/index.js';
import { ctx, needsSharedMemory, sharedBuffer, startMethod, test, TIME_SCALE } from '../fixtures/context.js';
import { until, within } from '../fixtures/until.js';
import { countRun, countThenDie, holdUntilReleasedAsync, keepRunCounts } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 60_000 * TIME_SCALE, ...needsSharedMemory };

type Death = NodeJS.Signals | 'exit' | 'oom';

// A signal would end the test's own process under 'thread', where the worker is a thread of it.
const deaths: readonly Death[] = startMethod === 'process' ? ['SIGKILL', 'SIGSEGV', 'exit', 'oom'] : ['exit', 'oom'];
const signalOrExit: Death = startMethod === 'process' ? 'SIGKILL' : 'exit';

const outcomesOf = async (tasks: Promise<unknown>[]): Promise<unknown[]> =>
  (await within(Promise.allSettled(tasks), 'the tasks settle', 30_000 * TIME_SCALE)).map((o) =>
    o.status === 'fulfilled' ? o.value : o.reason instanceof WorkerLostError ? o.reason.code : String(o.reason),
  );

/** A pool whose workers count each task's runs in `counts`, its workers started and ready. */
async function countingPool(counts: Int32Array, processes: number, more: { concurrentTasksPerWorker?: number; resourceLimits?: { maxOldGenerationSizeMb: number } } = {}) {
  const pool = new Pool({ processes, initializer: keepRunCounts, initargs: [counts], ...more });
  // Index 0 is the warm-up's: every worker has run both functions before the tested tasks come, so they
  // are all sent at once (behind the first) instead of a few at a time, and each starts at once.
  await Promise.all(Array.from({ length: processes * 2 }, (_, i) => (i % 2 === 0 ? pool.apply(countRun, [0]) : pool.apply(countThenDie, [0, null]))));
  counts[0] = 0;
  return pool;
}

for (const how of deaths) {
  for (const atOnce of [1, 3]) {
    test(`a worker that dies (${how}) with 8 tasks queued behind it, concurrentTasksPerWorker ${atOnce}: only the task it ran rejects`, T, async () => {
      const counts = new Int32Array(sharedBuffer(4 * 9));
      // A heap limit only for the death that needs it: Bun and Deno refuse resourceLimits.
      const pool = await countingPool(counts, 1, { concurrentTasksPerWorker: atOnce, ...(how === 'oom' ? { resourceLimits: { maxOldGenerationSizeMb: 32 } } : {}) });
      try {
        const got = await outcomesOf([pool.apply(countThenDie, [0, how]), ...Array.from({ length: 8 }, (_, i) => pool.apply(countRun, [i + 1]))]);
        assert.deepEqual(got, ['ERR_MP_WORKER_LOST', 1, 2, 3, 4, 5, 6, 7, 8]);
        assert.deepEqual([...counts], [1, 1, 1, 1, 1, 1, 1, 1, 1], 'each task ran once');
      } finally {
        await pool.terminate();
      }
    });
  }
}

test('concurrentTasksPerWorker 3: a worker that dies loses the task running beside the one that ended it, and only those', T, async () => {
  const counts = new Int32Array(sharedBuffer(4 * 8));
  const pool = await countingPool(counts, 1, { concurrentTasksPerWorker: 3 });
  try {
    const held = new Int32Array(sharedBuffer(8));
    const holding = pool.apply(holdUntilReleasedAsync, [held]);
    await until('the first task is running', () => held[0] === 1);
    const got = await outcomesOf([
      holding,
      pool.apply(countThenDie, [0, signalOrExit]),
      ...Array.from({ length: 7 }, (_, i) => pool.apply(countRun, [i + 1])),
    ]);
    assert.deepEqual(got, ['ERR_MP_WORKER_LOST', 'ERR_MP_WORKER_LOST', 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(held[0], 1, 'the held task ran once');
    assert.deepEqual([...counts], [1, 1, 1, 1, 1, 1, 1, 1], 'each task ran once');
  } finally {
    await pool.terminate();
  }
});

test('2 workers, 20 tasks, the 6th ends its worker: it rejects, every later task resolves, none runs twice', T, async () => {
  const counts = new Int32Array(sharedBuffer(4 * 20));
  const pool = await countingPool(counts, 2);
  try {
    const got = await outcomesOf(
      Array.from({ length: 20 }, (_, i) => (i === 5 ? pool.apply(countThenDie, [i, signalOrExit]) : pool.apply(countRun, [i]))),
    );
    assert.equal(got[5], 'ERR_MP_WORKER_LOST');
    assert.deepEqual(got.slice(6), Array.from({ length: 14 }, (_, i) => i + 6), 'the tasks after it resolve');
    for (let i = 0; i < 5; i++) {
      // A task that finished just before the death, its result not yet sent, is lost with the worker
      // too (it ran, once).
      assert.ok(got[i] === i || got[i] === 'ERR_MP_WORKER_LOST', `task ${i}: ${String(got[i])}`);
    }
    assert.deepEqual([...counts], Array.from({ length: 20 }, () => 1), 'each task ran once');
  } finally {
    await pool.terminate();
  }
});
