// 200 'process' children started and joined leave no file descriptor and no child behind. A file of its
// own: it takes a while on a loaded machine, and each file has a time limit. Runs once, on Linux.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T } from '../fixtures/process/os.js';
import { runNode } from '../fixtures/process/subprocess.js';

// The file's own limit is 120 s (scripts/run-tests.mjs): on an idle machine this takes about 20 s.
test('200 Processes started and joined leave no file descriptor and no child behind', { ...T, timeout: 118_000 }, async () => {
  // The built package: a child of the sources would load tsx first, several times slower to start.
  const run = await runNode([], 'test/fixtures/process/many-processes.mjs', [], 115_000);
  assert.equal(run.signal, null, 'not done within 115 s');
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { codes: [number, number][]; before: number; after: number; children: string[] };
  assert.deepEqual(result.codes, [[0, 200]]);
  assert.equal(result.after, result.before);
  assert.deepEqual(result.children, []);
});
