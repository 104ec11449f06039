// Process lifecycle: start, join (with and without timeout), isAlive, terminate, kill, close.
// Ported in spirit from CPython's _TestProcess.test_process / test_terminate / test_kill / test_close.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { spin, spinStarted, sleepThenStore } from '../fixtures/process/targets.js';
import { until } from '../fixtures/until.js';

const { Process } = ctx;

const T = { timeout: 20_000 };

test('start, join: a running child is alive, then exitCode 0', { ...T, ...needsSharedMemory }, async () => {
  const shared = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: sleepThenStore, args: [shared, 100] });
  assert.equal(p.isAlive(), false);
  assert.equal(p.exitCode, null);
  p.start();
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  await p.join();
  assert.equal(p.isAlive(), false);
  assert.equal(p.exitCode, 0);
  assert.equal(Atomics.load(shared, 0), 1);
  await p.join(); // joining again is fine
  assert.equal(p.exitCode, 0);
});

test('join(0) and join(-1) on a live child return at once; the child is still alive', T, async () => {
  const p = new Process({ target: spin });
  p.start();
  try {
    for (const timeout of [0, -1]) {
      const started = performance.now();
      await p.join(timeout);
      assert.ok(performance.now() - started < 500, `join(${timeout}) took too long`);
      assert.equal(p.isAlive(), true);
      assert.equal(p.exitCode, null);
    }
  } finally {
    p.terminate();
    await p.join();
  }
});

test('join(timeout) on a live child waits about that long, then returns with the child alive', T, async () => {
  const p = new Process({ target: spin });
  p.start();
  try {
    const started = performance.now();
    await p.join(150);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 140, `returned after ${elapsed} ms`);
    assert.ok(elapsed < 2000, `returned after ${elapsed} ms`);
    assert.equal(p.isAlive(), true);
  } finally {
    p.terminate();
    await p.join();
  }
});

test('join(timeout) returns as soon as the child ends, before the timeout', { ...T, ...needsSharedMemory }, async () => {
  const shared = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: sleepThenStore, args: [shared, 50] });
  p.start();
  const started = performance.now();
  await p.join(10_000);
  assert.ok(performance.now() - started < 5000);
  assert.equal(p.exitCode, 0);
});

test('terminate(): exitCode -15', { ...T, ...needsSharedMemory }, async () => {
  const started = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: spinStarted, args: [started] });
  p.start();
  await until('the child to run', () => Atomics.load(started, 0) === 1);
  assert.equal(p.isAlive(), true);
  p.terminate();
  await p.join();
  assert.equal(p.exitCode, -15);
  assert.equal(p.isAlive(), false);
  p.terminate(); // again after exit: a no-op
  assert.equal(p.exitCode, -15);
});

test('kill(): exitCode -9', { ...T, ...needsSharedMemory }, async () => {
  const started = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: spinStarted, args: [started] });
  p.start();
  await until('the child to run', () => Atomics.load(started, 0) === 1);
  p.kill();
  await p.join();
  assert.equal(p.exitCode, -9);
  assert.equal(p.isAlive(), false);
});

test('terminate() on a process that already ended keeps its exit code', T, async () => {
  const p = new Process({ target: () => {} });
  p.start();
  await p.join();
  p.terminate();
  p.kill();
  assert.equal(p.exitCode, 0);
});

test('start() twice throws', T, async () => {
  const p = new Process({ target: () => {} });
  p.start();
  assert.throws(() => p.start(), /cannot start a process twice/);
  await p.join();
  assert.throws(() => p.start(), /cannot start a process twice/);
});

test('join() before start() throws', T, async () => {
  const p = new Process({ target: () => {} });
  await assert.rejects(async () => p.join(), /can only join a started process/);
  await assert.rejects(async () => p.join(10), /can only join a started process/);
});

test('close() while running throws; after it ends close() works and the object is closed', T, async () => {
  const p = new Process({ target: spin });
  p.start();
  assert.throws(
    () => p.close(),
    /Cannot close a process while it is still running. You should first call join\(\) or terminate\(\)./,
  );
  p.terminate();
  await p.join();
  p.close();
  assert.throws(() => p.pid, /process object is closed/);
  assert.throws(() => p.ident, /process object is closed/);
  assert.throws(() => p.isAlive(), /process object is closed/);
  assert.throws(() => p.terminate(), /process object is closed/);
  assert.throws(() => p.kill(), /process object is closed/);
  assert.throws(() => p.start(), /process object is closed/);
  await assert.rejects(async () => p.join(), /process object is closed/);
  p.close(); // idempotent
  assert.equal(p.exitCode, -15);
});

test('close() before start() is allowed, and start() then throws', T, () => {
  const p = new Process({ target: () => {} });
  p.close();
  assert.throws(() => p.start(), /process object is closed/);
});

test('a process without a target runs nothing and exits 0', T, async () => {
  const p = new Process();
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test('toString describes the state', T, async () => {
  const p = new Process({ target: () => {}, name: 'shown' });
  assert.match(String(p), /name='shown' initial/);
  p.start();
  await p.join();
  assert.match(String(p), /name='shown' stopped exitCode=0/);
});

test('join(Infinity) and join(2³¹) wait for the child to end (issue 10: they returned at once)', { ...T, ...needsSharedMemory }, async () => {
  for (const timeout of [Infinity, 2 ** 31]) {
    const shared = new Int32Array(sharedBuffer(4));
    const p = new Process({ target: sleepThenStore, args: [shared, 150] });
    p.start();
    await p.join(timeout);
    assert.equal(Atomics.load(shared, 0), 1, `join(${timeout}) returned before the child ended`);
    assert.equal(p.exitCode, 0);
  }
});

test('join(NaN) and join("1") are refused with ERR_MP_INVALID_TIMEOUT', T, async () => {
  const p = new Process({ target: () => {} });
  p.start();
  await assert.rejects(p.join(Number.NaN), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_INVALID_TIMEOUT');
  await assert.rejects(p.join('1' as never), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_TIMEOUT');
  await p.join();
  assert.equal(p.exitCode, 0);
});

test('new Process(fn) and unknown options are refused, naming the fix', T, () => {
  assert.throws(() => new Process(spin as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: /^new Process\(\) takes an options object such as \{ target, args \}, not .*: write new Process\(\{ target: spin \}\)$/,
  });
  assert.throws(() => new Process({ target: spin, arg: [1] } as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: "new Process() has no option 'arg'. Did you mean 'args'?",
  });
  assert.throws(() => new Process({ target: spin, kwargs: { a: 1 } } as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: "new Process() has no option 'kwargs'. JavaScript has no keyword arguments: pass an object among args, as new Process({ target, args: [{ key: value }] }).",
  });
  assert.throws(() => new Process({ target: spin, group: null } as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: "new Process() has no option 'group'. It takes: target, args, name, daemon.",
  });
});
