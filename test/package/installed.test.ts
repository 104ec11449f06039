// The package as a user gets it (issue 11, "Done when"): `npm pack` the repository, install the tarball
// into a scratch project in a temporary directory, and run there an ESM program under plain node, a
// CommonJS program, a TypeScript program under tsx and the same compiled by tsc (skipLibCheck: false)
// and run under plain node; then type-check it against the current major of @types/node too.
// Installing takes a few seconds: the dependencies come from npm's cache when they are there, and the
// package's install script builds the native addon (about 10 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type RunResult } from '../fixtures/process/subprocess.js';
import { npm, packInto, root, scratchEnv, succeeded } from '../fixtures/package/scratch.js';

const programs = fileURLToPath(new URL('../fixtures/package/installed/', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};
// Every program prints this line: 2 children × 10,000 locked increments, their queue messages, and the
// pool's results.
const expected = JSON.stringify({
  counter: 20_000,
  messages: ['child 1 done', 'child 2 done'],
  exitCodes: [0, 0],
  squares: [100, 328_350],
  doubled: [2, 4, 6],
});
// What the natural program (every worker function in the entry file) prints: the primes below 100,000,
// digests made with node:crypto and a module constant, an async task using a constant, pool worker names,
// a package round trip, a class used by a shipped function, a relative import, and 2 × 5,000 increments.
const naturalDigest = (text: string): string => createHash('sha256').update(`mp${text}`).digest('hex').slice(0, 12);
const natural = JSON.stringify({
  primes: 9592,
  digests: [naturalDigest('a'), naturalDigest('b')],
  scaled: [100, 200, 300],
  workers: true,
  trips: [7, 8],
  tallied: 12,
  labels: ['#1', '#2'],
  counter: 10_000,
  exitCodes: [0, 0],
});
const T = { timeout: 120_000 };

let scratch = '';

function inScratch(command: string, args: string[]): Promise<RunResult> {
  return runCommand(command, args, 60_000, { cwd: scratch, env: scratchEnv });
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'mp-installed-'));
  const tarball = await packInto(scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  cpSync(programs, scratch, { recursive: true });
  const types = `@types/node@${manifest.devDependencies['@types/node']}`;
  succeeded(await npm(['install', `./${tarball}`, 'tsx', types], scratch), `npm install ${tarball} tsx ${types}`);
}, T);

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

test('the installed package holds the builds and the README, not the sources or tests', T, () => {
  const installed = join(scratch, 'node_modules/multiprocessing');
  for (const file of ['package.json', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.cts']) {
    assert.ok(existsSync(join(installed, file)), `${file} is missing from the package`);
  }
  for (const dir of ['src', 'test', 'bench', 'examples']) assert.equal(existsSync(join(installed, dir)), false, `${dir}/ is in the package`);
});

test('npm built the native addon at install, from the sources the package ships', { ...T, skip: process.platform !== 'linux' && 'the addon is Linux-only' }, () => {
  const release = join(scratch, 'node_modules/multiprocessing/native/build/Release');
  for (const file of ['multiprocessing_native.node', 'multiprocessing_napi.node']) {
    assert.ok(existsSync(join(release, file)), `${file} was not built at install`);
  }
});

test('an ESM program ("type": "module") under plain node', T, async () => {
  const r = await inScratch(process.execPath, ['main.js']);
  succeeded(r, 'node main.js');
  assert.equal(r.stdout, `${expected}\n`);
  assert.equal(r.stderr, '');
});

test('a CommonJS program under plain node', T, async () => {
  const r = await inScratch(process.execPath, ['main.cjs']);
  succeeded(r, 'node main.cjs');
  assert.equal(r.stdout, `${expected}\n`);
  assert.equal(r.stderr, '');
});

test('the TypeScript program under tsx (node --import tsx), its workers importing .ts modules', T, async () => {
  const r = await inScratch(process.execPath, ['--import', 'tsx', 'main.ts']);
  succeeded(r, 'node --import tsx main.ts');
  assert.equal(r.stdout, `${expected}\n`);
});

test('the TypeScript program compiled by tsc (skipLibCheck: false, @types/node 20), run under plain node', T, async () => {
  succeeded(await inScratch(process.execPath, [tsc, '-p', 'tsconfig.json']), 'tsc');
  const r = await inScratch(process.execPath, ['out/main.js']);
  succeeded(r, 'node out/main.js');
  assert.equal(r.stdout, `${expected}\n`);
  assert.equal(r.stderr, '');
});

test('the natural program, worker functions in the entry file: TypeScript under tsx', T, async () => {
  const r = await inScratch(process.execPath, ['--import', 'tsx', 'natural.ts']);
  succeeded(r, 'node --import tsx natural.ts');
  assert.equal(r.stdout, `${natural}\n`);
});

test('the natural program compiled by tsc, run under plain node', T, async () => {
  // out/ was compiled by the test above (tests of a file run in order).
  const r = await inScratch(process.execPath, ['out/natural.js']);
  succeeded(r, 'node out/natural.js');
  assert.equal(r.stdout, `${natural}\n`);
  assert.equal(r.stderr, '');
});

test('the natural program as JavaScript (ES modules) and as CommonJS, under plain node', T, async () => {
  for (const file of ['natural.js', 'natural.cjs']) {
    const r = await inScratch(process.execPath, [file]);
    succeeded(r, `node ${file}`);
    assert.equal(r.stdout, `${natural}\n`, file);
    assert.equal(r.stderr, '', file);
  }
});

test("a 'process' program in plain JavaScript: a blocking get gives the module's class at once; a worker's Value comes back live; an entry function uses the context's Value", { ...T, skip: process.platform !== 'linux' && 'the addon is Linux-only' }, async () => {
  const r = await inScratch(process.execPath, ['processes.mjs']);
  succeeded(r, 'node processes.mjs');
  assert.equal(r.stdout, `${JSON.stringify({ vec: [1, 5], exitCode: 0, pid: true, value: [42, 42], here: 8 })}\n`);
  assert.equal(r.stderr, '');
});

// Runs after the test above (tests of a file run in order): it replaces @types/node in the scratch project.
test('the published types compile (skipLibCheck: false) against the current @types/node, 26', T, async () => {
  succeeded(await npm(['install', '@types/node@26'], scratch), 'npm install @types/node@26');
  const installed = JSON.parse(readFileSync(join(scratch, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string };
  assert.match(installed.version, /^26\./);
  // pool.ts declares its own TransferItem: @types/node 26 removed TransferListItem.
  const r = await inScratch(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit']);
  succeeded(r, `tsc against @types/node ${installed.version}`);
});
