// Under tsx, a pool worker registers tsx's module hooks only before it imports a module that may need
// them (issue 11: registering in every worker made the first result 5–8× slower than under plain node).
// Runs the built package (dist/), as a user's program does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runNode } from '../fixtures/process/subprocess.js';

test('a worker that ran only functions shipped by source has not registered tsx; a TypeScript module still loads', { timeout: 60_000 }, async () => {
  const script = fileURLToPath(new URL('../fixtures/pool/tsx-lazy-main.ts', import.meta.url));
  const run = await runNode(['--import', 'tsx'], script, [], 50_000);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { bySource: 27, before: false, fromTypeScript: 15, after: true });
});
