// A child's uncaught error is printed on stderr after `Process <name>:`, as Python prints the child's
// traceback; exit codes as seen by a program run as a subprocess.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from '../fixtures/context.js';
import { runTs } from '../fixtures/process/subprocess.js';

const script = fileURLToPath(new URL('../fixtures/process/run-child.ts', import.meta.url));
const T = { timeout: 40_000 };

test('an error thrown by the target: exit code 1, stack on stderr after "Process <name>:"', T, async () => {
  const r = await runTs(script, ['throw']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=1/);
  assert.match(r.stderr, /^Process failing:\nRangeError: boom from the child\n\s+at fail /m);
});

test('an error thrown from a timer inside the child: exit code 1, printed the same way', T, async () => {
  const r = await runTs(script, ['timer']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=1/);
  assert.match(r.stderr, /^Process Process-1:\nTypeError: boom from a timer\n\s+at /m);
});

test('process.exit(7) in the child: exit code 7, nothing on stderr', T, async () => {
  const r = await runTs(script, ['exit']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=7/);
  assert.doesNotMatch(r.stderr, /Process /);
});

test('a normal child: exit code 0, the parent program exits 0', T, async () => {
  const r = await runTs(script, ['ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=0/);
  assert.equal(r.stderr, '');
});
