// A non-daemon child keeps the program alive until it ends; a daemon child dies with the program.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test, needsSharedMemory } from '../fixtures/context.js';
import { runTs } from '../fixtures/process/subprocess.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/process/${name}`, import.meta.url));
const T = { timeout: 40_000 };

test('the main module returns while a non-daemon child runs: the child finishes, the exit is clean', T, async () => {
  const r = await runTs(fixture('keep-alive.ts'), [], 20_000);
  assert.equal(r.signal, null);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'main done\nchild done\n');
  assert.equal(r.stderr, '');
});

test('the main module returns while a daemon child loops: the program exits promptly', { ...T, ...needsSharedMemory }, async () => {
  const r = await runTs(fixture('daemon-exit.ts'), [], 20_000);
  assert.equal(r.signal, null, 'the program was still running after 20 s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /daemon running\n/);
  assert.match(r.stdout, /main done alive=true started=1\n/);
  // Once the main module has returned, nothing waits for the daemon: well below the kill timeout.
  assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
});
