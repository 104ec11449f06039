// Start methods and contexts: getContext, getStartMethod, setStartMethod, getAllStartMethods.
// Ported from CPython's TestStartMethod.test_set_get / test_get_all. The order of the tests matters:
// the default start method is fixed the first time it is asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as mp from '../../src/index.js';
import { getAllStartMethods, getContext, getStartMethod, setStartMethod } from '../../src/index.js';

const T = { timeout: 20_000 };

// 'process' needs fork and signals as Linux and macOS have them.
const ALL = process.platform === 'linux' || process.platform === 'darwin' ? ['thread', 'process'] : ['thread'];

test('getAllStartMethods(): thread, the default first, then process on Linux and macOS', T, () => {
  assert.deepEqual(getAllStartMethods(), ALL);
  const list = getAllStartMethods();
  list.push('x' as never);
  assert.deepEqual(getAllStartMethods(), ALL, 'returns a copy');
});

test('getStartMethod(true) is null before anything is chosen; getStartMethod() fixes the default', T, () => {
  assert.equal(getStartMethod(true), null);
  assert.equal(getStartMethod(), 'thread');
  assert.equal(getStartMethod(true), 'thread');
});

test('setStartMethod() once it is set: context has already been set; force changes it', T, () => {
  assert.throws(() => setStartMethod('thread'), (error: Error & { code?: string }) => {
    assert.equal(error.message, 'context has already been set');
    assert.equal(error.code, 'ERR_MP_CONTEXT_SET');
    return true;
  });
  setStartMethod(null, true);
  assert.equal(getStartMethod(true), null);
  setStartMethod('thread');
  assert.equal(getStartMethod(), 'thread');
  setStartMethod('thread', true);
  assert.equal(getStartMethod(), 'thread');
});

test('an unknown start method: cannot find context for it', T, () => {
  assert.throws(() => getContext('bogus'), /^Error: cannot find context for 'bogus'/);
  assert.throws(() => setStartMethod('bogus' as never, true), /cannot find context for 'bogus'/);
  assert.equal(getStartMethod(), 'thread', 'a failed set changes nothing');
});

test('getContext(): the whole API bound to a start method, one object per method', T, () => {
  const ctx = getContext();
  assert.equal(ctx.startMethod, 'thread');
  assert.equal(getContext('thread'), ctx);
  assert.ok(Object.isFrozen(ctx));
  // What starts children or owns shared memory is bound to the context; everything else is the export.
  const bound = new Set(['Process', 'Pool', 'Value', 'RawValue', 'SharedArray', 'Array', 'RawArray', 'Lock', 'RLock',
    'Semaphore', 'BoundedSemaphore', 'Condition', 'Event', 'Barrier', 'Queue', 'JoinableQueue', 'SimpleQueue', 'Pipe']);
  for (const name of Object.keys(mp)) {
    const own = (ctx as Record<string, unknown>)[name];
    const exported = (mp as Record<string, unknown>)[name];
    if (bound.has(name)) {
      assert.notEqual(own, exported, `${name} is bound`);
      assert.equal((own as Function).name, (exported as Function).name, `${name} keeps its name`);
    } else {
      assert.equal(own, exported, name);
    }
  }
  assert.equal(ctx.cpuCount, mp.cpuCount);
  assert.equal(ctx.Array, ctx.SharedArray, 'an alias stays an alias');
});

test("a context's classes make instances of the library's classes; subclasses of them work", T, async () => {
  const ctx = getContext('thread');
  const value = new ctx.Value('i', 5);
  assert.ok(value instanceof mp.Value);
  assert.equal(value.value, 5);
  const lock = new ctx.Lock();
  assert.ok(lock instanceof mp.Lock);
  const [a, b] = ctx.Pipe();
  assert.ok(a instanceof mp.Connection && b instanceof mp.Connection);
  class Counting extends ctx.Lock {
    taken = 0;
    override acquire(...args: Parameters<mp.Lock['acquire']>): boolean {
      this.taken += 1;
      return super.acquire(...args);
    }
  }
  const counting = new Counting();
  assert.ok(counting instanceof Counting && counting instanceof mp.Lock);
  assert.equal(counting.acquire(), true);
  assert.equal(counting.taken, 1);
  counting.release();
  await using pool = new ctx.Pool(1);
  assert.ok(pool instanceof mp.Pool);
  assert.equal(await pool.apply((x: number) => x * 2, [21]), 42);
});

// This file is about choosing a start method, so it runs once (it does not take the test helper's
// context, which would choose one) and visits every method itself.
for (const method of getAllStartMethods()) {
  test(`a context starts processes [${method}]`, T, async () => {
    const ctx = getContext(method);
    // Seen through the exit code: shared memory across processes may need the native addon.
    const p = new ctx.Process({ target: (code: number) => void (process.exitCode = code), args: [7] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 7);
  });
}
