// Who may start children: not a child still importing its target's module (no endless spawn), not a daemon.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { readJson, tryStartChild } from '../fixtures/process/targets.js';
import { runTs } from '../fixtures/process/subprocess.js';

const { Process } = ctx;

const T = { timeout: 30_000 };

test('a module that starts a Process at its top level, imported by a child: the bootstrapping error', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(4096);
  const p = new Process({
    target: { module: new URL('../fixtures/process/starts-on-import.ts', import.meta.url), name: 'report' },
    args: [out],
  });
  p.start();
  await p.join(15_000);
  assert.equal(p.exitCode, 0);
  const outcome = readJson(out) as { message?: string; code?: string; started?: boolean };
  assert.equal(outcome.started, undefined, 'the child started a process while bootstrapping');
  assert.equal(outcome.code, 'ERR_MP_BOOTSTRAPPING');
  assert.match(outcome.message ?? '', /before the current process has finished its bootstrapping phase/);
  assert.match(outcome.message ?? '', /Fix: /);
});

test('uncaught, the bootstrapping error ends the child with exit code 1 and a clear message, no endless spawn', T, async () => {
  const script = fileURLToPath(new URL('../fixtures/process/run-child.ts', import.meta.url));
  const r = await runTs(script, ['bootstrap'], 20_000);
  assert.equal(r.signal, null, 'the program did not end');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=1/);
  assert.match(r.stderr, /^Process Process-1:\nError: An attempt has been made to start a new process before/m);
  assert.equal(r.stderr.match(/bootstrapping phase/g)?.length, 1);
});

test('a daemon child may not start children', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(4096);
  const p = new Process({ target: tryStartChild, args: [out], daemon: true });
  p.start();
  await p.join(15_000);
  assert.equal(p.exitCode, 0);
  const outcome = readJson(out) as { message?: string; code?: string; started?: boolean };
  assert.match(outcome.message ?? '', /^daemonic processes are not allowed to have children \(/);
  assert.equal(outcome.code, 'ERR_MP_DAEMON_CHILDREN');
});

test('a non-daemon child may start children', { ...T, ...needsSharedMemory }, async () => {
  const out = sharedBuffer(4096);
  const p = new Process({ target: tryStartChild, args: [out] });
  p.start();
  await p.join(15_000);
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readJson(out), { started: true });
});
