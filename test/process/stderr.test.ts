// A child's uncaught error is printed on stderr after `Process <name>:`, as Python prints the child's
// traceback; exit codes as seen by a program run as a subprocess.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test, needsSharedMemory } from '../fixtures/context.js';
import { runTs } from '../fixtures/process/subprocess.js';

const script = fileURLToPath(new URL('../fixtures/process/run-child.ts', import.meta.url));
const T = { timeout: 40_000 };

test('an error thrown by the target: exit code 1, stack on stderr after "Process <name>:"', T, async () => {
  const r = await runTs(script, ['throw']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=1/);
  assert.match(r.stderr, /^Process failing:\nRangeError: boom from the child\n\s+at fail /m);
});

test("a target shipped by source: the traceback points at the user's file, line and column", T, async () => {
  // A self-contained target is compiled in the child from its source; only the parent knows where that
  // source came from, so the parent places it before the child starts (Pool's errors are placed in the
  // parent instead, when they come back).
  const r = await runTs(script, ['shipped']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exitCode=1/);
  const lines = readFileSync(script, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes('// shipped alone here'));
  const column = lines[line]!.indexOf('new RangeError') + 1;
  assert.match(r.stderr, /^Process Process-1:\nRangeError: boom from a shipped target\n/m);
  assert.ok(r.stderr.includes(`    at failHere (${script}:${line + 1}:${column})\n`), r.stderr);
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

const blocked = fileURLToPath(new URL('../fixtures/process/output-while-blocked.ts', import.meta.url));

test("a child's output is printed while the parent's main thread is blocked, and is not lost when the parent exits at once", { ...T, ...needsSharedMemory }, async () => {
  // Under 'thread', Node prints a worker's output from the main thread's event loop: a parent blocked
  // in get() printed it late, and lost it at process.exit. A child writes to the descriptors itself.
  const r = await runTs(blocked, ['exit']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'child: to stdout\nparent: got 42\n');
  assert.equal(r.stderr, 'child: to stderr\n');
});

test('a child that dies holding a lock: its traceback is printed, and a parent blocked in acquire() takes the lock over', { ...T, ...needsSharedMemory }, async () => {
  // The child marks itself dead as it exits, so the blocked parent need not see the exit event.
  const r = await runTs(blocked, ['crash']);
  assert.equal(r.code, 0, r.stderr);
  const traceback = r.stderr.indexOf('Process Process-1:\nRangeError: the child crashed\n');
  const takeover = r.stderr.indexOf('parent: the lock is mine (ownerDied true)');
  assert.ok(traceback !== -1 && takeover !== -1, r.stderr);
  assert.ok(traceback < takeover, `the traceback comes before the parent's line:\n${r.stderr}`);
});
