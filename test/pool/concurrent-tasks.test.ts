// concurrentTasksPerWorker: a worker runs up to that many tasks at once while they await; results,
// errors and worker deaths stay per task. That tasks ran at once is observed through gather(): each
// returns `together: true` only if all its parties were running at the same time.
import assert from 'node:assert/strict';
import { WorkerLostError } from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { double, gather, gatherOrThrow, startThenExit } from '../fixtures/pool/concurrent.js';

const { Pool } = ctx;

const T = { timeout: 60_000 };

const word = (): Int32Array => new Int32Array(sharedBuffer(4));

test('8 async tasks overlap on one worker with concurrentTasksPerWorker: 8', { ...T, ...needsSharedMemory }, async () => {
  await using pool = new Pool({ processes: 1, concurrentTasksPerWorker: 8 });
  const shared = word();
  const results = await Promise.all(Array.from({ length: 8 }, () => pool.apply(gather, [shared, 8, 10_000])));
  assert.deepEqual(results.map((r) => r.together), Array(8).fill(true));
  assert.equal(new Set(results.map((r) => r.worker)).size, 1, 'all on the one worker');
});

test('16 async tasks overlap on 2 workers with 8 each, and the pool grows to both', { ...T, ...needsSharedMemory }, async () => {
  await using pool = new Pool({ processes: 2, concurrentTasksPerWorker: 8 });
  const shared = word();
  const results = await Promise.all(Array.from({ length: 16 }, () => pool.apply(gather, [shared, 16, 10_000])));
  assert.ok(results.every((r) => r.together));
  assert.equal(new Set(results.map((r) => r.worker)).size, 2);
});

test('by default (1) a worker runs one task at a time, as Python', { ...T, ...needsSharedMemory }, async () => {
  await using pool = new Pool({ processes: 1 });
  const shared = word();
  // The first waits for a second that cannot start until it returns: it gives up after 300 ms.
  const [first, second] = await Promise.all([pool.apply(gather, [shared, 2, 300]), pool.apply(gather, [shared, 2, 300])]);
  assert.equal(first.together, false);
  assert.equal(second.together, true, 'the second started after the first, and found 2 arrivals');
});

test('results and errors stay with their own tasks when tasks run at once', { ...T, ...needsSharedMemory }, async () => {
  await using pool = new Pool({ processes: 1, concurrentTasksPerWorker: 6 });
  const shared = word();
  const settled = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => pool.apply(gatherOrThrow, [shared, 6, i])));
  for (let i = 0; i < 6; i++) {
    const outcome = settled[i]!;
    if (i % 2 === 0) assert.deepEqual(outcome, { status: 'fulfilled', value: i * 10 });
    else {
      assert.equal(outcome.status, 'rejected');
      assert.ok((outcome as PromiseRejectedResult).reason instanceof RangeError);
      assert.equal((outcome as PromiseRejectedResult).reason.message, `task ${i} failed`);
    }
  }
  assert.equal(await pool.apply(double, [21]), 42, 'the worker goes on');
});

test("a worker's death rejects exactly the tasks it had started; the ones it had not run elsewhere", { ...T, ...needsSharedMemory }, async () => {
  await using pool = new Pool({ processes: 1, concurrentTasksPerWorker: 4 });
  const started = word();
  // Four start at once (the fourth ends the worker once all four have started); the next ones were sent
  // to the worker or queued, but had not started.
  const running = [0, 1, 2, 3].map((i) => pool.apply(startThenExit, [started, 4, i === 3]));
  const later = [1, 2, 3].map((x) => pool.apply(double, [x]));
  const outcomes = await Promise.allSettled(running);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    assert.ok((outcome as PromiseRejectedResult).reason instanceof WorkerLostError);
  }
  assert.deepEqual(await Promise.all(later), [2, 4, 6]);
  assert.equal(Atomics.load(started, 0), 4, 'each task that started ran once: a lost one is rejected, never run again');
});

test('concurrentTasksPerWorker is checked: a whole number from 1 to 1024', T, () => {
  for (const bad of [0, 1.5, -1, 2000]) {
    assert.throws(() => new Pool({ processes: 1, concurrentTasksPerWorker: bad }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_MP_INVALID_ARG');
      assert.match(error.message, /concurrentTasksPerWorker must be a whole number of tasks from 1 to 1024/);
      return true;
    });
  }
  assert.throws(() => new Pool({ processes: 1, concurrentTasksPerWorker: '8' as never }), /concurrentTasksPerWorker/);
});
