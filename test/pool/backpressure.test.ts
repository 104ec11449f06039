// maxQueue: apply/applyAsync beyond it are refused at once with ERR_MP_QUEUE_FULL, never dropped;
// `await pool.drained()` waits for room and `needsDrain` says whether to; map chunks are never refused.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { notify } from '../../src/runtime/futex.js';
import { cube, holdUntilReleased, holdUntilReleasedAsync } from '../fixtures/pool/tasks.js';
import { until, within } from '../fixtures/until.js';

const { Pool } = ctx;

const T = { timeout: 60_000 };

/** A shared word pair for `holdUntilReleased`: `[started, released]`. */
function holdWord(): Int32Array {
  return new Int32Array(sharedBuffer(8));
}

function release(word: Int32Array): void {
  Atomics.store(word, 1, 1);
  notify(word, 1);
}

test('a producer feeding 10,000 tasks at maxQueue 100, awaiting drained(), never sees more than 100 queued; all complete', T, async () => {
  const pool = new Pool({ processes: 2, maxQueue: 100 });
  try {
    const results: Promise<number>[] = [];
    let most = 0;
    let waits = 0;
    for (let i = 0; i < 10_000; i++) {
      while (pool.needsDrain) {
        waits += 1;
        await within(pool.drained(), `room in the queue at task ${i}`);
      }
      results.push(pool.apply(cube, [i]));
      most = Math.max(most, pool.stats().queued);
    }
    // The first 100 calls are made in one turn, before anything can be dispatched: the limit is reached.
    assert.equal(most, 100);
    assert.ok(waits > 0);
    const values = await within(Promise.all(results), 'every result');
    assert.equal(values.length, 10_000);
    for (let i = 0; i < 10_000; i++) assert.equal(values[i], i ** 3);
    const stats = pool.stats();
    assert.equal(stats.completed, 10_000);
    assert.equal(stats.failed, 0);
    assert.equal(stats.queued, 0);
  } finally {
    await pool.terminate();
  }
});

test('beyond maxQueue, apply and applyAsync reject at once with ERR_MP_QUEUE_FULL; drained() resolves once there is room', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool({ processes: 1, maxQueue: 3 });
  const word = holdWord();
  try {
    // Runs alone (it has a timeout), so the tasks behind it stay queued.
    const held = pool.apply(holdUntilReleased, [word], { timeout: 30_000 });
    await until('the holding task started', () => Atomics.load(word, 0) === 1);
    assert.equal(pool.needsDrain, false);
    await within(pool.drained(), 'drained() with room'); // resolves at once: there is room
    const queued = [pool.apply(cube, [1]), pool.apply(cube, [2]), pool.apply(cube, [3])];
    assert.equal(pool.stats().queued, 3);
    assert.equal(pool.needsDrain, true);
    await assert.rejects(pool.apply(cube, [4]), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_MP_QUEUE_FULL');
      assert.match(error.message, /maxQueue: 3/);
      assert.match(error.message, /await pool\.drained\(\)/);
      return true;
    });
    const refused = pool.applyAsync(cube, [5]);
    await assert.rejects(refused.get(1000), { code: 'ERR_MP_QUEUE_FULL' });
    // map is not refused: its chunks queue behind the others.
    const mapped = pool.map(cube, [6, 7], 1);
    assert.equal(pool.stats().queued, 5);
    let roomAt = -1;
    const room = pool.drained().then(() => (roomAt = pool.stats().queued));
    release(word);
    await within(room, 'drained() once the queue has room');
    assert.ok(roomAt < 3, `resolved with ${roomAt} queued`);
    assert.equal(await within(held, 'the holding task'), 1);
    assert.deepEqual(await within(Promise.all(queued), 'the queued tasks'), [1, 8, 27]);
    assert.deepEqual(await within(mapped, 'the map'), [216, 343]);
    // Refused calls were never queued: nothing ran for them.
    assert.equal(pool.stats().completed, 6);
    assert.equal(pool.stats().failed, 0);
  } finally {
    release(word);
    await pool.terminate();
  }
});

test("maxQueue 'auto' is processes²; no maxQueue never refuses; drained() resolves once the pool is terminated", { ...T, ...needsSharedMemory }, async () => {
  const auto = new Pool({ processes: 3, maxQueue: 'auto' });
  assert.equal(auto.maxQueue, 9);
  await auto.terminate();
  const unbounded = new Pool(1);
  try {
    assert.equal(unbounded.maxQueue, Infinity);
    const all = Array.from({ length: 500 }, (_, i) => unbounded.apply(cube, [i]));
    assert.equal(unbounded.needsDrain, false);
    await within(unbounded.drained(), 'drained() without maxQueue');
    assert.equal((await within(Promise.all(all), 'the tasks')).length, 500);
  } finally {
    await unbounded.terminate();
  }
  const pool = new Pool({ processes: 1, maxQueue: 1 });
  const word = holdWord();
  const held = pool.apply(holdUntilReleased, [word], { timeout: 30_000 });
  await until('the holding task started', () => Atomics.load(word, 0) === 1);
  const queued = pool.apply(cube, [2]);
  assert.equal(pool.needsDrain, true);
  const room = pool.drained();
  const terminated = pool.terminate();
  await within(room, 'drained() after terminate()');
  await within(terminated, 'terminate()');
  await assert.rejects(held, { code: 'ERR_MP_POOL_TERMINATED' });
  await assert.rejects(queued, { code: 'ERR_MP_POOL_TERMINATED' });
});

test('maxQueue is checked up front', () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new Pool({ processes: 1, maxQueue: bad }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  }
  for (const bad of ['max', '10', null]) {
    assert.throws(() => new Pool({ processes: 1, maxQueue: bad as never }), { name: 'TypeError', code: 'ERR_MP_INVALID_ARG' });
  }
});

test("maxQueue counts only tasks waiting for a worker: a burst the workers can start at once is not refused (piscina's rule)", { ...T, ...needsSharedMemory }, async () => {
  // 2 workers × 4 at once: 8 tasks start, then 4 may wait; the 13th is refused.
  const pool = new Pool({ processes: 2, concurrentTasksPerWorker: 4, maxQueue: 'auto' });
  try {
    const word = holdWord();
    const accepted = Array.from({ length: 12 }, () => pool.apply(holdUntilReleasedAsync, [word]));
    assert.equal(pool.stats().queued, 4);
    assert.equal(pool.needsDrain, true);
    await assert.rejects(pool.apply(cube, [2]), { code: 'ERR_MP_QUEUE_FULL' });
    release(word);
    assert.equal((await within(Promise.all(accepted), 'the 12 accepted tasks')).length, 12);
  } finally {
    await pool.terminate();
  }
});
