// Process attributes: name, daemon, pid, ident, exitCode, async targets.
import assert from 'node:assert/strict';
import { currentProcess } from '../../src/index.js';
import { ctx, startMethod, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { describeSelf, exitWith, fail, readJson, sleepThenStore, storeWhenReleased } from '../fixtures/process/targets.js';
import { until } from '../fixtures/until.js';

const { Process } = ctx;

const T = { timeout: 20_000 };

test('name defaults to Process-N, counting up; a given name is kept and seen by the child', { ...T, ...needsSharedMemory }, async () => {
  const a = new Process({ target: () => {} });
  const b = new Process({ target: () => {} });
  const m = /^Process-(\d+)$/.exec(a.name);
  assert.ok(m, a.name);
  assert.equal(b.name, `Process-${Number(m[1]) + 1}`);
  const out = sharedBuffer(1024);
  const named = new Process({ target: describeSelf, args: [out], name: 'squarer' });
  assert.equal(named.name, 'squarer');
  named.start();
  await named.join();
  assert.equal((readJson(out) as { self: { name: string } }).self.name, 'squarer');
});

test('name can be changed before start', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(1024);
  const p = new Process({ target: describeSelf, args: [out] });
  p.name = 'renamed';
  p.start();
  await p.join();
  assert.equal((readJson(out) as { self: { name: string } }).self.name, 'renamed');
});

test('daemon: defaults to the creator\'s flag (false in main), settable before start, throws after', T, async () => {
  const p = new Process({ target: () => {} });
  assert.equal(p.daemon, false);
  p.daemon = true;
  assert.equal(p.daemon, true);
  assert.equal(new Process({ daemon: true }).daemon, true);
  p.start();
  assert.throws(() => {
    p.daemon = false;
  }, /process has already started/);
  assert.equal(p.daemon, true);
  await p.join();
  assert.throws(() => {
    p.daemon = false;
  }, /process has already started/);
});

test('the child sees its daemon flag', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(1024);
  const p = new Process({ target: describeSelf, args: [out], daemon: true });
  p.start();
  await p.join();
  assert.equal((readJson(out) as { self: { daemon: boolean } }).self.daemon, true);
});

test('pid: undefined before start; the program\'s pid under thread, the child\'s own under process', T, async () => {
  const p = new Process({ target: () => {} });
  assert.equal(p.pid, undefined);
  p.start();
  const pid = p.pid;
  if (startMethod === 'thread') assert.equal(pid, process.pid);
  else assert.ok(typeof pid === 'number' && pid > 0 && pid !== process.pid, `pid ${pid}`);
  await p.join();
  assert.equal(p.pid, pid);
});

test('ident: undefined before start, unique per process, and the child\'s own ident', { ...T, ...needsSharedMemory }, async () => {
  const out1 = sharedBuffer(1024);
  const out2 = sharedBuffer(1024);
  const p1 = new Process({ target: describeSelf, args: [out1] });
  const p2 = new Process({ target: describeSelf, args: [out2] });
  assert.equal(p1.ident, undefined);
  p1.start();
  p2.start();
  await Promise.all([p1.join(), p2.join()]);
  assert.equal(typeof p1.ident, 'number');
  assert.notEqual(p1.ident, p2.ident);
  assert.notEqual(p1.ident, currentProcess().ident);
  assert.equal((readJson(out1) as { self: { ident: number } }).self.ident, p1.ident);
  assert.equal((readJson(out2) as { self: { ident: number } }).self.ident, p2.ident);
});

test('exitCode: null before start, 0 after a normal return', T, async () => {
  const p = new Process({ target: (x: number) => x * 2, args: [21] });
  assert.equal(p.exitCode, null);
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test('exitCode: N after process.exit(N)', T, async () => {
  for (const code of [0, 3, 42]) {
    const p = new Process({ target: exitWith, args: [code] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, code);
  }
});

test('exitCode: 1 after an uncaught error (sync and async)', T, async (t) => {
  // The stack goes to stderr; test/process/stderr.test.ts checks what is printed.
  const writes: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  const sync = new Process({ target: fail, args: ['sync failure'] });
  const asyncFail = new Process({
    target: async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('async failure');
    },
  });
  sync.start();
  asyncFail.start();
  await Promise.all([sync.join(), asyncFail.join()]);
  assert.equal(sync.exitCode, 1);
  assert.equal(asyncFail.exitCode, 1);
});

test('an async target is awaited before the child ends', { ...T, ...needsSharedMemory }, async () => {
  const gate = new Int32Array(sharedBuffer(12));
  const p = new Process({ target: storeWhenReleased, args: [gate] });
  p.start();
  await until('the async target runs', () => Atomics.load(gate, 2) === 1);
  await p.join(50);
  assert.equal(p.isAlive(), true);
  assert.equal(Atomics.load(gate, 0), 0);
  Atomics.store(gate, 1, 1); // release it
  await p.join(20_000);
  assert.equal(Atomics.load(gate, 0), 1);
  assert.equal(p.exitCode, 0);
});

test('args: may be omitted; must be an array', T, () => {
  assert.doesNotThrow(() => new Process({ target: () => {} }));
  assert.throws(() => new Process({ target: () => {}, args: 5 as never }), TypeError);
});

test('target: must be a function or a { module, name } reference', T, () => {
  assert.throws(() => new Process({ target: 1 as never }), /target must be a function or a \{ module, name \} reference/);
});

test('awaiting join() on a daemon child keeps the program alive until the child ends', { ...T, ...needsSharedMemory }, async () => {
  // A daemon's worker does not hold the event loop open by itself; join() must, or this test's
  // promise would be left pending when the loop empties.
  const shared = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: sleepThenStore, args: [shared, 200], daemon: true });
  p.start();
  await p.join();
  assert.equal(Atomics.load(shared, 0), 1);
  assert.equal(p.exitCode, 0);
});

test('an unhandled rejection inside the child ends it with exit code 1', T, async (t) => {
  t.mock.method(process.stderr, 'write', () => true);
  const p = new Process({
    target: async () => {
      void Promise.reject(new Error('nobody handles this'));
      await new Promise((resolve) => setTimeout(resolve, 2000));
    },
  });
  p.start();
  await p.join(10_000);
  assert.equal(p.exitCode, 1);
});
