// AsyncResult: get, get(timeout), wait, ready, successful, PromiseLike, throwing callbacks.
import assert from 'node:assert/strict';
import { TimeoutError } from '../../src/index.js';
import { ctx, test } from '../fixtures/context.js';
import { cube, raiseIf7, slow } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('get(timeout) rejects with TimeoutError while the task keeps running; a later get() returns the value', T, async () => {
  const pool = new Pool(2);
  try {
    const result = pool.applyAsync(slow, [600, 5]);
    assert.equal(result.ready(), false);
    assert.throws(() => result.successful(), (e: Error) => /not ready/.test(e.message));
    const started = performance.now();
    const error = await result.get(50).then(
      () => assert.fail('should time out'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.code, 'ERR_MP_TIMEOUT');
    assert.ok(performance.now() - started < 2000);
    assert.equal(result.ready(), false);
    assert.equal(await result.get(), 5);
    assert.equal(result.ready(), true);
    assert.equal(result.successful(), true);
    assert.equal(await result.get(1), 5); // ready: the timeout no longer matters
  } finally {
    await pool.terminate();
  }
});

test('wait(timeout) resolves undefined without throwing, before and after the task is ready', T, async () => {
  const pool = new Pool(2);
  try {
    const result = pool.applyAsync(slow, [400, 1]);
    assert.equal(await result.wait(20), undefined);
    assert.equal(result.ready(), false);
    assert.equal(await result.wait(), undefined);
    assert.equal(result.ready(), true);

    const failing = pool.applyAsync(raiseIf7, [7]);
    assert.equal(await failing.wait(), undefined);
    assert.equal(failing.ready(), true);
    assert.equal(failing.successful(), false);
    await assert.rejects(failing.get(), { message: 'seven' });
  } finally {
    await pool.terminate();
  }
});

test('an AsyncResult is a PromiseLike: await works for values and errors', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await pool.applyAsync(cube, [3]), 27);
    assert.deepEqual(await pool.mapAsync(cube, [1, 2]), [1, 8]);
    await assert.rejects(async () => await pool.applyAsync(raiseIf7, [7]), { name: 'TypeError', message: 'seven' });
    const chained = await pool.applyAsync(cube, [2]).then((v) => v + 1);
    assert.equal(chained, 9);
  } finally {
    await pool.terminate();
  }
});

test('a result nobody awaits does not cause an unhandled rejection', T, async () => {
  const pool = new Pool(2);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const result = pool.applyAsync(raiseIf7, [7]);
    await result.wait();
    // Unhandled rejections are reported once the microtasks of a turn have run: one turn later is enough.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await pool.terminate();
  }
});

test('a throwing callback or errorCallback does not break the pool, and the result still settles', T, async () => {
  const pool = new Pool(2);
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const ok = pool.applyAsync(cube, [2], {
      callback: () => {
        throw new Error('callback boom');
      },
    });
    assert.equal(await ok.get(), 8);
    assert.equal(ok.successful(), true);

    const bad = pool.applyAsync(raiseIf7, [7], {
      errorCallback: () => {
        throw new Error('errorCallback boom');
      },
    });
    await assert.rejects(bad.get(), { message: 'seven' });

    const mapped = pool.mapAsync(cube, [1, 2, 3], undefined, {
      callback: () => {
        throw new Error('map callback boom');
      },
    });
    assert.deepEqual(await mapped.get(), [1, 8, 27]);
    assert.equal(await pool.apply(cube, [4]), 64);
  } finally {
    process.stderr.write = write;
    await pool.terminate();
  }
  const text = written.join('');
  assert.match(text, /callback boom/);
  assert.match(text, /errorCallback boom/);
  assert.match(text, /map callback boom/);
});
