// The built package (dist/, made by `npm run build`, which `npm test` runs first): ESM and CommonJS
// entry points through the package's self-reference, consumers run with plain node, and TypeScript
// programs run under tsx whose children import .ts modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand, runNode, runTs } from '../fixtures/process/subprocess.js';

const T = { timeout: 40_000 };
const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/package/${name}`, import.meta.url));
const names = [
  'Process',
  'activeChildren',
  'currentProcess',
  'parentProcess',
  'cpuCount',
  'getContext',
  'getStartMethod',
  'setStartMethod',
  'getAllStartMethods',
  'registerShareable',
  'reduce',
  'ProcessError',
  'TimeoutError',
  'WorkerLostError',
  'RemoteError',
];

test('dist exists (run `npm run build` first)', T, () => {
  for (const file of ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.cts']) {
    assert.ok(existsSync(`${root}${file}`), `${file} is missing: run npm run build`);
  }
});

test("import('multiprocessing') (ESM self-reference) gives the API from dist/esm", T, async () => {
  const mp = await import('multiprocessing');
  for (const name of names) assert.ok(name in mp, name);
  assert.equal(typeof mp.Process, 'function');
  assert.equal(import.meta.resolve('multiprocessing'), new URL('dist/esm/index.js', `file://${root}`).href);
  assert.equal(mp.currentProcess().name, 'MainProcess');
});

test("require('multiprocessing') (CommonJS) gives the API from dist/cjs", T, () => {
  const require = createRequire(import.meta.url);
  assert.equal(require.resolve('multiprocessing'), `${root}dist/cjs/index.js`);
  const mp = require('multiprocessing');
  for (const name of names) assert.ok(name in mp, name);
  assert.equal(typeof mp.Process, 'function');
  assert.equal(mp.getContext().startMethod, 'thread');
});

test('ESM and CommonJS programs share one copy of the library (dist/esm re-exports dist/cjs)', T, async () => {
  const esm = await import('multiprocessing');
  const cjs = createRequire(import.meta.url)('multiprocessing') as typeof esm;
  for (const name of names) assert.equal(esm[name as keyof typeof esm], cjs[name as keyof typeof cjs], name);
  assert.equal(esm.Pool, cjs.Pool);
  assert.deepEqual(esm.currentProcess(), cjs.currentProcess());
});

test('a CommonJS consumer (plain node) starts a Process whose target a .cjs module exports', T, async () => {
  const r = await runNode([], fixture('consumer.cjs'), [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from a cjs child\nMainProcess exitCode=0\n');
});

test('an ESM consumer (plain node) starts a Process whose target a .mjs module exports', T, async () => {
  const r = await runNode([], fixture('consumer.mjs'), [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from an esm child\nMainProcess exitCode=0\n');
});

const tsOutput = 'hello from a ts child (ts-child)\nMainProcess exitCode=0\n';

test('a TypeScript program under node --import tsx: its child imports .ts modules', T, async () => {
  const r = await runTs(fixture('consumer.ts'), [], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, tsOutput);
});

test('a TypeScript program under the tsx CLI: its child imports .ts modules', T, async () => {
  const r = await runCommand(`${root}node_modules/.bin/tsx`, [fixture('consumer.ts')], 30_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, tsOutput);
});

test('a program given as a string (node --input-type=module -e, node -e) runs pools and processes of both start methods', T, async () => {
  const entry = new URL('../../dist/esm/index.js', import.meta.url).href;
  const program = `
    const { getContext } = await import(${JSON.stringify(entry)});
    for (const method of ['thread', 'process']) {
      const pool = new (getContext(method).Pool)(1);
      const doubled = await pool.map((x) => x * 2, [1, 2]);
      pool.close();
      await pool.join();
      const child = new (getContext(method).Process)({ target: (name, x) => console.log(name, 'child', x), args: [method, doubled[1]] });
      child.start();
      await child.join();
      console.log(method, doubled.join(','), child.exitCode);
    }`;
  const expected = 'thread child 4\nthread 2,4 0\nprocess child 4\nprocess 2,4 0\n';
  const asModule = await runCommand(process.execPath, ['--input-type=module', '-e', program], 30_000);
  assert.equal(asModule.code, 0, asModule.stderr);
  assert.equal(asModule.stdout, expected);
  const asScript = await runCommand(process.execPath, ['--input-type', 'commonjs', '-e', `(async () => { ${program} })()`], 30_000);
  assert.equal(asScript.code, 0, asScript.stderr);
  assert.equal(asScript.stdout, expected);
});
