// Workers that die, results and arguments that cannot be cloned: the pool settles every task and stays usable.
import assert from 'node:assert/strict';
import { WorkerLostError } from '../../src/index.js';
import { ctx, test } from '../fixtures/context.js';
import { allocateLots, cube, exitAfter, exitNow, identity, returnFunction, slow, unsendableAt, workerIdent } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };

test('a worker that calls process.exit mid-task rejects that task with WorkerLostError; the pool stays usable', T, async () => {
  const pool = new Pool(2);
  try {
    const lost = pool.apply(exitNow, [3]);
    const error = await lost.then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkerLostError);
    assert.equal(error.code, 'ERR_MP_WORKER_LOST');
    assert.equal(error.exitCode, 3);
    assert.equal(await pool.apply(cube, [3]), 27);
    assert.deepEqual(await pool.map(cube, [1, 2, 3, 4, 5, 6], 1), [1, 8, 27, 64, 125, 216]);
  } finally {
    await pool.terminate();
  }
});

test('other tasks submitted with the one whose worker exits still succeed', T, async () => {
  const pool = new Pool(2);
  try {
    // The exiting task starts first; the others are submitted at the same time.
    const lost = pool.apply(exitAfter, [100, 1]);
    const others = Array.from({ length: 8 }, (_, i) => pool.apply(slow, [20, i]));
    const outcomes = await Promise.allSettled([lost, ...others]);
    assert.equal(outcomes[0]!.status, 'rejected');
    assert.ok((outcomes[0] as PromiseRejectedResult).reason instanceof WorkerLostError);
    assert.deepEqual(
      outcomes.slice(1).map((o) => (o.status === 'fulfilled' ? o.value : `rejected: ${(o.reason as Error).message}`)),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('Pool(1): tasks pipelined behind a task that exits synchronously run on the replacement worker', T, async () => {
  const pool = new Pool(1);
  try {
    const lost = pool.apply(exitNow, [2]);
    const others = Array.from({ length: 10 }, (_, i) => pool.apply(cube, [i]));
    await assert.rejects(lost, (e: unknown) => e instanceof WorkerLostError && e.exitCode === 2);
    assert.deepEqual(await Promise.all(others), Array.from({ length: 10 }, (_, i) => i ** 3));
  } finally {
    await pool.terminate();
  }
});

test('a map chunk whose worker exits rejects the map with WorkerLostError; the pool stays usable', T, async () => {
  const pool = new Pool(2);
  try {
    const exitOn3 = (x: number) => {
      if (x === 3) process.exit(9);
      return x;
    };
    await assert.rejects(pool.map(exitOn3, [0, 1, 2, 3, 4, 5], 1), (e: unknown) => e instanceof WorkerLostError);
    assert.deepEqual(await pool.map(cube, [1, 2, 3]), [1, 8, 27]);
  } finally {
    await pool.terminate();
  }
});

test('a worker that exceeds its resourceLimits is lost: WorkerLostError, and the pool stays usable', T, async () => {
  const pool = new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } });
  try {
    const error = await pool.apply(allocateLots).then(
      () => assert.fail('should run out of memory'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WorkerLostError, String(error));
    assert.equal(error.code, 'ERR_MP_WORKER_LOST');
    assert.equal(await pool.apply(cube, [3]), 27);
  } finally {
    await pool.terminate();
  }
});

test('a map result that cannot be sent back names its item by its index in the whole input', T, async () => {
  const pool = new Pool(2);
  try {
    const xs = Array.from({ length: 6000 }, (_, i) => i);
    for (const kind of ['function', 'weakmap'] as const) {
      await assert.rejects(
        pool.starmap(unsendableAt, xs.map((x) => [x, 4321, kind] as [number, number, 'function' | 'weakmap'])),
        (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_UNCLONEABLE' && /^result\[4321\]\.value cannot be sent back to the parent/.test(e.message),
        kind,
      );
    }
    assert.equal(await pool.apply(cube, [4]), 64);
  } finally {
    await pool.terminate();
  }
});

test('CPython test_unpickleable_result: a result that cannot be cloned rejects with TypeError; the pool keeps working', T, async () => {
  const pool = new Pool(2);
  try {
    await assert.rejects(pool.apply(returnFunction), (e: Error) => e instanceof TypeError && /cannot be sent back/.test(e.message));
    // Next to good results in the same batch.
    const outcomes = await Promise.allSettled([pool.apply(cube, [2]), pool.apply(returnFunction), pool.apply(cube, [3])]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof TypeError);
    await assert.rejects(pool.map(returnFunction as never as (x: number) => number, [1, 2]), TypeError);
    assert.equal(await pool.apply(cube, [4]), 64);
  } finally {
    await pool.terminate();
  }
});

test('CPython test_map_unpicklable: arguments that cannot be cloned reject with a TypeError naming the path', T, async () => {
  const pool = new Pool(2);
  try {
    await assert.rejects(pool.apply(identity, [{ a: new WeakMap() }]), (e: Error) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /args\[0\]\.a/);
      return true;
    });
    await assert.rejects(pool.map(identity, [1, { b: new WeakMap() }]), (e: Error) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.match(e.message, /iterable\[1\]\.b/);
      return true;
    });
    await assert.rejects(pool.map(identity, [0, 1, 2, 3, { c: [new WeakMap()] }, 5], 2), /iterable\[4\]\.c\[0\]/);
    const it = pool.imap(identity, [0, 1, 2, { d: new WeakMap() }]);
    for (let i = 0; i < 3; i++) assert.deepEqual(await it.next(), { done: false, value: i });
    await assert.rejects(it.next(), (e: Error) => e instanceof TypeError && /iterable\[3\]\.d/.test(e.message));
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

// A send happens after the call returned (in the pool's next dispatch round), so an error it meets is the
// task's: it used to be thrown out of the dispatch, an uncaught exception that ended the program.
test('an argument that throws as it is sent (a getter read again then): that task rejects with its error; the others run; the pool goes on', T, async () => {
  await using pool = new Pool(1);
  const trap = { armed: false };
  const sendsBadly = (): { x: number } => ({
    get x() {
      if (trap.armed) throw new RangeError('read as it was sent');
      return 1;
    },
  });
  const isTheGetters = (e: unknown): boolean => e instanceof RangeError && e.message === 'read as it was sent';
  const outcomes = Promise.allSettled([pool.apply(cube, [2]), pool.apply(identity, [sendsBadly()]), pool.apply(cube, [3])]);
  const mapped = pool.map(identity, [1, sendsBadly(), 3], 1);
  const called = new Promise((resolve, reject) => {
    pool.applyAsync(identity, [sendsBadly()], { callback: () => reject(new Error('the task ran')), errorCallback: resolve });
  });
  trap.armed = true;
  const [good, bad, alsoGood] = await outcomes;
  assert.deepEqual([good, alsoGood], [{ status: 'fulfilled', value: 8 }, { status: 'fulfilled', value: 27 }]);
  assert.ok(bad?.status === 'rejected' && isTheGetters(bad.reason), String(bad));
  await assert.rejects(mapped, isTheGetters);
  assert.ok(isTheGetters(await called));
  assert.equal(await pool.apply(cube, [4]), 64);
});

test('a worker killed mid-task is replaced: the next task runs on a new thread', T, async () => {
  const pool = new Pool(1);
  try {
    const before = await pool.apply(workerIdent);
    await assert.rejects(pool.apply(exitNow, [0]), WorkerLostError);
    const after = await pool.apply(workerIdent);
    assert.notEqual(after, before);
  } finally {
    await pool.terminate();
  }
});

test('close() while a worker exits mid-task: the other tasks still finish and join() settles', T, async () => {
  const pool = new Pool(2);
  try {
    const lost = pool.apply(exitAfter, [50, 4]);
    const others = Array.from({ length: 6 }, (_, i) => pool.apply(slow, [30, i]));
    pool.close();
    await assert.rejects(lost, WorkerLostError);
    assert.deepEqual(await Promise.all(others), [0, 1, 2, 3, 4, 5]);
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('imap over items whose worker exits: that item rejects with WorkerLostError, the rest arrive', T, async () => {
  const pool = new Pool(2);
  try {
    const exitOn4 = (x: number) => {
      if (x === 4) process.exit(1);
      return x * 2;
    };
    const it = pool.imap(exitOn4, [0, 1, 2, 3, 4, 5, 6, 7]);
    const got: (number | string)[] = [];
    for (;;) {
      try {
        const step = await it.next();
        if (step.done) break;
        got.push(step.value);
      } catch (error) {
        got.push((error as Error).name);
      }
    }
    assert.deepEqual(got, [0, 2, 4, 6, 'WorkerLostError', 10, 12, 14]);
  } finally {
    await pool.terminate();
  }
});
