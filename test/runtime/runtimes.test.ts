// What differs on Bun and Deno (issue 14), checked on whichever runtime runs this file: Node runs it in
// `npm test`, Bun and Deno in `npm run test:bun` / `test:deno` (scripts/test-runtime.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Pool, getContext } from '../../src/index.js';
import { canLocateFunctions } from '../../src/transport/function-location.js';
import { findExportFromStack } from '../../src/transport/export-search.js';
import { ValidationError } from '../fixtures/pool/error-classes.js';
import { Point, normOf } from '../fixtures/runtime/shapes.js';
import { holdStartUntilReleased } from '../fixtures/runtime/starting.js';
import { until, within } from '../fixtures/until.js';
import { fileURLToPath, pathToFileURL } from 'node:url';

const T = { timeout: 60_000 };
const runtime = process.versions['bun'] !== undefined ? 'bun' : process.versions['deno'] !== undefined ? 'deno' : 'node';

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

test('the inspector locates functions on Node only', () => {
  assert.equal(canLocateFunctions(), runtime === 'node');
});

// Bun took a data: URL with a '.' in it for a file: the function's default export was the URL string.
test('a function shipped by source whose text has dots runs', T, async () => {
  await using pool = new Pool(1);
  assert.deepEqual(await pool.map((x: number) => Math.max(x, 0.5).toFixed(1), [0, 2]), ['0.5', '2.0']);
});

// The worker's entry keeps what its parent posts until the role listens (Deno dropped such a message,
// and a pool closed while its worker started never joined): the stop sent during the initializer.
test('a pool closed while its worker is starting (in its initializer) joins once the worker has started', T, async () => {
  const word = new Int32Array(new SharedArrayBuffer(8));
  const pool = new Pool({ processes: 1, initializer: holdStartUntilReleased, initargs: [word] });
  await until('the initializer to run', () => Atomics.load(word, 0) === 1);
  pool.close();
  Atomics.store(word, 1, 1);
  await within(pool.join(), 'the pool to join');
});

test("an imported module's export crosses by reference; an instance of its class arrives as that class", T, async () => {
  await using pool = new Pool(1);
  assert.deepEqual(await pool.apply(normOf, [new Point(3, 4)]), [25, true]);
});

test('an entry-script function that uses an import: runs on Node, refused with the fix elsewhere', T, async () => {
  await using pool = new Pool(1);
  if (runtime === 'node') {
    assert.equal(await pool.apply(digest, ['a']), digest('a'));
    return;
  }
  await assert.rejects(
    pool.apply(digest, ['a']),
    (e: Error & { code?: string }) =>
      e instanceof TypeError &&
      e.code === 'ERR_MP_FUNCTION_UNSENDABLE' &&
      /'createHash'/.test(e.message) &&
      /cannot tell which module defines it/.test(e.message) &&
      /pass \{ module, name \}/.test(e.message),
  );
});

// An error's class, where no inspector locates it: among the files its stack names (Bun's frames name a
// path, Deno's a file URL) and their imports, as the module the receiver's own import resolves to.
const NODE_LOCATES = "Node's inspector locates classes; under tsx, the search's require() would load a second copy";
test("an error's class is found from its stack: the throwing file's export, or its import", { skip: runtime === 'node' && NODE_LOCATES }, () => {
  const classes = fileURLToPath(new URL('../fixtures/pool/error-classes.ts', import.meta.url));
  const throwers = new URL('../fixtures/pool/error-throwers.ts', import.meta.url).href;
  const found = { moduleUrl: pathToFileURL(classes).href, exportName: 'ValidationError' };
  assert.deepEqual(findExportFromStack(`ValidationError: x\n    at validate (${classes}:24:19)`, ValidationError, undefined), found);
  assert.deepEqual(findExportFromStack(`ValidationError: x\n    at validate (${found.moduleUrl}:24:19)`, ValidationError, undefined), found);
  assert.deepEqual(findExportFromStack(`ValidationError: x\n    at rejectName (${throwers}:6:9)`, ValidationError, undefined), found);
  // Not the entry script, nor a file that neither exports nor imports the class, nor code without a file.
  assert.equal(findExportFromStack(`ValidationError: x\n    at validate (${classes}:24:19)`, ValidationError, found.moduleUrl), undefined);
  const unrelated = fileURLToPath(new URL('../fixtures/runtime/shapes.ts', import.meta.url));
  assert.equal(findExportFromStack(`Error: x\n    at f (${unrelated}:1:1)\n    at g (multiprocessing:g~3:2:5)`, ValidationError, undefined), undefined);
});

test('resourceLimits: refused at once where worker threads ignore them (Bun, Deno)', { ...T, skip: runtime === 'node' && 'Node enforces them (test/pool/faults.test.ts)' }, () => {
  assert.throws(
    () => new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } }),
    (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && /ignore them/.test(e.message),
  );
});

test("resourceLimits: refused at once for Bun's child processes", { ...T, skip: runtime !== 'bun' && 'Node enforces them (test/process/os-process.test.ts); Deno runs no process children here' }, () => {
  assert.throws(
    () => new (getContext('process').Pool)({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 16 } }),
    (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && /Bun's child processes ignore them/.test(e.message),
  );
});
