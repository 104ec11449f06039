// Per-call timeout and AbortSignal: queued tasks are removed, running ones are stopped with their worker.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Worker } from 'node:worker_threads';
import { TimeoutError } from '../../src/index.js';
import { ctx, test, threadOnly, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { cube, record, recorded, slow, spinCounting, startThenSleep, workerIdent } from '../fixtures/pool/tasks.js';
import { until } from '../fixtures/until.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('timeout: a task sleeping 5 s with timeout 100 rejects with TimeoutError well before 5 s; the pool stays usable', T, async () => {
  const pool = new Pool(2);
  try {
    const started = performance.now();
    const error = await pool.apply(slow, [5000, 1], { timeout: 100 }).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    const ms = performance.now() - started;
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.code, 'ERR_MP_TIMEOUT');
    assert.ok(ms >= 90 && ms < 2000, `took ${ms} ms`);
    assert.equal(await pool.apply(cube, [3]), 27);
    assert.equal(await pool.apply(slow, [10, 4], { timeout: 5000 }), 4); // a task within its timeout
  } finally {
    await pool.terminate();
  }
});

test('timeout counts from when the task starts, not while it waits in the queue', T, async () => {
  const pool = new Pool(1);
  try {
    const first = pool.apply(slow, [300, 1]);
    const second = pool.apply(slow, [50, 2], { timeout: 200 }); // waits ~300 ms, then runs 50 ms
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
  } finally {
    await pool.terminate();
  }
});

test('timeout on map rejects with TimeoutError', T, async () => {
  const pool = new Pool(2);
  try {
    await assert.rejects(pool.starmap(slow, [[5000, 1], [1, 2]], 1, { timeout: 100 }), TimeoutError);
    assert.deepEqual(await pool.map(cube, [2, 3]), [8, 27]);
  } finally {
    await pool.terminate();
  }
});

test('aborting a queued task rejects it with the abort reason without running it', T, async () => {
  const pool = new Pool(1);
  try {
    const busy = pool.apply(slow, [300, 1]);
    const controller = new AbortController();
    const queued = pool.apply(record, [42], { signal: controller.signal });
    const reason = new Error('not needed any more');
    controller.abort(reason);
    await assert.rejects(queued, (e: unknown) => e === reason);
    assert.equal(await busy, 1);
    assert.equal(await pool.apply(record, [7]), 7);
    assert.deepEqual(await pool.apply(recorded), [7]);
  } finally {
    await pool.terminate();
  }
});

test('aborting a running task stops it (its worker is replaced); the pool stays usable', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(1);
  try {
    const before = await pool.apply(workerIdent);
    const controller = new AbortController();
    const word = new Int32Array(sharedBuffer(4));
    const running = pool.apply(startThenSleep, [word, 5000, 1], { signal: controller.signal });
    await until('the task to start', () => Atomics.load(word, 0) === 1);
    const started = performance.now();
    controller.abort();
    const error = await running.then(
      () => assert.fail('should be aborted'),
      (e: unknown) => e,
    );
    assert.ok(performance.now() - started < 2000);
    assert.equal((error as Error).name, 'AbortError');
    const after = await pool.apply(workerIdent);
    assert.notEqual(after, before);
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('an already-aborted signal rejects at once', T, async () => {
  const pool = new Pool(1);
  try {
    const reason = new RangeError('aborted before');
    await assert.rejects(pool.apply(record, [99], { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
    await assert.rejects(pool.map(record, [98], undefined, { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
    assert.deepEqual(await pool.apply(recorded), []);
  } finally {
    await pool.terminate();
  }
});

test('aborting a map stops all its chunks', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  try {
    const controller = new AbortController();
    const word = new Int32Array(sharedBuffer(4));
    const mapped = pool.starmap(startThenSleep, Array.from({ length: 6 }, (_, i): [Int32Array, number, number] => [word, 5000, i]), 1, {
      signal: controller.signal,
    });
    await until('a chunk to run on each worker', () => Atomics.load(word, 0) === 2);
    controller.abort(new Error('stop the map'));
    const started = performance.now();
    await assert.rejects(mapped, { message: 'stop the map' });
    assert.ok(performance.now() - started < 3000);
    assert.deepEqual(await pool.map(cube, [1, 2]), [1, 8]);
  } finally {
    await pool.terminate();
  }
});

test('tasks with a signal that finish normally leave no abort listener behind', T, async () => {
  const pool = new Pool(2);
  try {
    const controller = new AbortController();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.apply(cube, [i], { signal: controller.signal })));
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i ** 3));
    assert.deepEqual(await pool.map(cube, [1, 2, 3, 4], 1, { signal: controller.signal }), [1, 8, 27, 64]);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  } finally {
    await pool.terminate();
  }
});

test('one signal for a whole batch (a map of 50 chunks, 50 applies): one abort listener, no leak warning', T, async () => {
  // A listener per task made Node warn "Possible EventTarget memory leak" past ten.
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  const pool = new Pool(2);
  try {
    const controller = new AbortController();
    const items = Array.from({ length: 50 }, (_, i) => i);
    const mapped = pool.map(cube, items, 1, { signal: controller.signal });
    const applied = items.map((i) => pool.apply(cube, [i], { signal: controller.signal }));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    assert.deepEqual(await mapped, items.map((i) => i ** 3));
    assert.deepEqual(await Promise.all(applied), items.map((i) => i ** 3));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await pool.terminate();
  }
});

test('one signal shared by running and queued tasks: aborting rejects them all, the pool stays usable', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  try {
    const controller = new AbortController();
    const word = new Int32Array(sharedBuffer(4));
    const tasks = Array.from({ length: 6 }, (_, i) => pool.apply(startThenSleep, [word, 5000, i], { signal: controller.signal }));
    const unrelated = pool.apply(slow, [300, 99]);
    await until('a task to run on each worker', () => Atomics.load(word, 0) === 2);
    const reason = new Error('cancel all');
    controller.abort(reason);
    const outcomes = await Promise.allSettled(tasks);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason === reason));
    assert.equal(await unrelated, 99);
    assert.deepEqual(await pool.map(cube, [1, 2, 3], 1), [1, 8, 27]);
  } finally {
    await pool.terminate();
  }
});

// Issue 10: the promise rejected as soon as the timer fired, while the worker was still running: code that
// goes on after the rejection (recovering a lock the task held, say) must find the task's thread gone.
test('a task stopped by its timeout or its signal rejects only once its worker has exited', { ...T, ...threadOnly("it watches worker threads' exit events") }, async (t) => {
  // Observe the workers' 'exit' events (Node emits one once a worker's thread has ended).
  const exited: number[] = [];
  const emit = Worker.prototype.emit;
  t.mock.method(Worker.prototype, 'emit', function (this: Worker, event: string | symbol, ...args: unknown[]) {
    if (event === 'exit') exited.push(performance.now());
    return emit.call(this, event, ...args);
  });
  const pool = new Pool(1);
  try {
    for (const how of ['timeout', 'signal'] as const) {
      assert.equal(await pool.apply(cube, [1]), 1); // a worker that is up and has loaded the tasks' module
      const exitsBefore = exited.length;
      const word = new Int32Array(sharedBuffer(8));
      const controller = new AbortController();
      const options = how === 'timeout' ? { timeout: 500 } : { signal: controller.signal };
      const running = pool.apply(spinCounting, [word], options);
      if (how === 'signal') {
        await until('the spinning task to start', () => Atomics.load(word, 0) === 1);
        controller.abort();
      }
      const error = await running.then(() => assert.fail('should be stopped'), (e: unknown) => e as Error);
      assert.equal(exited.length, exitsBefore + 1, `${how}: the promise rejected before the task's worker had exited`);
      assert.equal(error.name, how === 'timeout' ? 'TimeoutError' : 'AbortError');
      // The thread that spun is gone: its counter never moves again.
      const spins = Atomics.load(word, 1);
      assert.equal(await pool.apply(cube, [2]), 8);
      assert.equal(Atomics.load(word, 1), spins, `${how}: the stopped task kept running after its promise rejected`);
    }
  } finally {
    await pool.terminate();
  }
});
