// currentProcess(), parentProcess(), activeChildren(), cpuCount(), grandchildren's names.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { activeChildren, cpuCount, currentProcess, parentProcess } from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer, startMethod } from '../fixtures/context.js';
import { describeSelf, readJson, spin, startGrandchild } from '../fixtures/process/targets.js';

const { Process } = ctx;

const T = { timeout: 20_000 };

interface Described {
  self: { name: string; pid: number; ident: number; daemon: boolean };
  parent: { name: string; pid: number; ident: number; daemon: boolean } | null;
}

test('currentProcess() in the main thread is MainProcess; parentProcess() is null', T, () => {
  const me = currentProcess();
  assert.equal(me.name, 'MainProcess');
  assert.equal(me.pid, process.pid);
  assert.equal(me.daemon, false);
  assert.equal(typeof me.ident, 'number');
  assert.equal(parentProcess(), null);
});

test('in a child: currentProcess() is the child, parentProcess() the main process', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(1024);
  const p = new Process({ target: describeSelf, args: [out] });
  p.start();
  await p.join();
  const seen = readJson(out) as Described;
  assert.equal(seen.self.name, p.name);
  // A thread child shares the program's pid; a process child has its own.
  assert.equal(seen.self.pid, p.pid);
  if (startMethod === 'process') assert.notEqual(seen.self.pid, process.pid);
  else assert.equal(seen.self.pid, process.pid);
  assert.equal(seen.self.ident, p.ident);
  assert.equal(seen.self.daemon, false);
  assert.deepEqual(seen.parent, { ...currentProcess() });
});

test('a grandchild is named Process-N:1 and its parent is the child', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(1024);
  const child = new Process({ target: startGrandchild, args: [out] });
  child.start();
  await child.join();
  assert.equal(child.exitCode, 0);
  const seen = readJson(out) as Described;
  assert.equal(seen.self.name, `${child.name}:1`);
  assert.match(seen.self.name, /^Process-\d+:1$/);
  assert.equal(seen.parent?.name, child.name);
  assert.equal(seen.parent?.ident, child.ident);
  assert.notEqual(seen.self.ident, child.ident);
});

test('activeChildren(): the started, still running children', T, async () => {
  const before = activeChildren().length;
  const p = new Process({ target: spin });
  assert.ok(!activeChildren().includes(p));
  p.start();
  assert.ok(activeChildren().includes(p));
  assert.equal(activeChildren().length, before + 1);
  p.terminate();
  await p.join();
  assert.ok(!activeChildren().includes(p));
  assert.equal(activeChildren().length, before);
});

test('cpuCount(): a positive integer, at most the available parallelism', T, () => {
  const n = cpuCount();
  assert.ok(Number.isInteger(n) && n >= 1, String(n));
  assert.ok(n <= availableParallelism());
});
