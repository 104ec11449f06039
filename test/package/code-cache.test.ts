// The built package's loader (src/loader/code-cache.cts): the library is compiled once and its V8 code
// kept in a private directory under the system's temporary directory, which later runs, their worker
// threads and their 'process' children use; a damaged cache or a directory others can write only costs a
// compile. Each run gets its own temporary directory (TMPDIR), so runs never see another test's cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../fixtures/process/subprocess.js';

const T = { timeout: 60_000 };
const entry = new URL('../../dist/esm/index.js', import.meta.url).href;
const cacheName = `multiprocessing-v8-cache-${process.getuid?.() ?? 'user'}`;

// A pool of each start method gets a result: its children load the library through the same loader.
const program = `
const { getContext } = await import(${JSON.stringify(entry)});
const cube = (x) => x * x * x;
for (const method of ['thread', 'process']) {
  const pool = new (getContext(method).Pool)(2);
  console.log(method, await pool.apply(cube, [3]));
  pool.close();
  await pool.join();
}
`;

async function runWith(temporary: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const file = join(temporary, 'program.mjs');
  writeFileSync(file, program);
  const r = await runCommand(process.execPath, [file], 45_000, {
    env: { ...process.env, TMPDIR: temporary, ...env },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'thread 27\nprocess 27\n');
}

function scratch(t: { after(fn: () => void): void }): string {
  const temporary = mkdtempSync(join(tmpdir(), 'mp-code-cache-'));
  t.after(() => rmSync(temporary, { recursive: true, force: true }));
  return temporary;
}

function cacheFiles(directory: string): string[] {
  return readdirSync(directory).map((name) => join(directory, name));
}

test('the first run writes the code cache in a private directory; later runs use it as it is', T, async (t) => {
  const temporary = scratch(t);
  const directory = join(temporary, cacheName);
  await runWith(temporary);
  assert.equal(statSync(directory).mode & 0o777, 0o700);
  const [file, ...others] = cacheFiles(directory);
  assert.deepEqual(others, [], 'one cache file, whatever the number of threads and processes that loaded the library');
  // Named by the build id that the build wrote at the library's end (a hash of its code), not by
  // the file's size and time: V8 checks only the source's length against cached code.
  const buildId = /\/\/ multiprocessing-build: ([0-9a-f]{20})\n\/\/# sourceMappingURL=library\.js\.map\n?$/.exec(readFileSync(new URL('../../dist/cjs/library.js', import.meta.url), 'utf8'))?.[1];
  assert.ok(buildId !== undefined, 'the build wrote its id at the end of dist/cjs/library.js, before the source map comment');
  assert.match(file!, new RegExp(`library-${buildId}-[0-9a-f]{8}-v\\d+\\.\\d+\\.\\d+-\\w+\\.bin$`));
  assert.equal(statSync(file!).mode & 0o777, 0o600);
  const written = statSync(file!);
  await runWith(temporary);
  // V8 accepted the cache in every thread and process: a rejected or missing cache is written again
  // (a new file renamed over it).
  const after = statSync(file!);
  assert.equal(after.ino, written.ino);
  assert.equal(after.mtimeMs, written.mtimeMs);
});

test('a damaged cache is compiled afresh and replaced', T, async (t) => {
  const temporary = scratch(t);
  const directory = join(temporary, cacheName);
  await runWith(temporary);
  const [file] = cacheFiles(directory);
  const garbage = Buffer.alloc(4096, 0x5a);
  writeFileSync(file!, garbage);
  await runWith(temporary);
  assert.notDeepEqual(readFileSync(file!).subarray(0, garbage.length), garbage);
});

test('a cache directory that others can write is never used', T, async (t) => {
  const temporary = scratch(t);
  const directory = join(temporary, cacheName);
  mkdirSync(directory);
  chmodSync(directory, 0o777);
  await runWith(temporary);
  assert.deepEqual(cacheFiles(directory), []);
});

test('MULTIPROCESSING_NO_CODE_CACHE=1 turns the cache off', T, async (t) => {
  const temporary = scratch(t);
  await runWith(temporary, { MULTIPROCESSING_NO_CODE_CACHE: '1' });
  assert.deepEqual(readdirSync(temporary), ['program.mjs']);
});

test('only the newest caches are kept: rebuilds and upgrades do not pile files up', T, async (t) => {
  const temporary = scratch(t);
  const directory = join(temporary, cacheName);
  mkdirSync(directory, { mode: 0o700 });
  // Caches of ten earlier builds, the oldest first.
  const earlier = Array.from({ length: 10 }, (_, i) => join(directory, `library-1000-${i}-v20.0.0-x64.bin`));
  earlier.forEach((file, i) => {
    writeFileSync(file, 'old');
    utimesSync(file, 1_000_000 + i, 1_000_000 + i);
  });
  await runWith(temporary);
  const kept = readdirSync(directory).sort();
  assert.equal(kept.length, 8);
  // This build's cache and the seven newest of the earlier ones.
  assert.deepEqual(kept.filter((name) => name.startsWith('library-1000-')), earlier.slice(3).map((file) => file.slice(directory.length + 1)).sort());
});

test('two copies of the package each name their own file in stack traces, with one cache directory', T, async (t) => {
  // V8 (Node 20) keeps the script name that cached code was made with: a cache shared between two
  // installs of one build made the second one's frames point into the first one's node_modules.
  const temporary = scratch(t);
  const dist = new URL('../../dist', import.meta.url).pathname;
  const copies = ['one', 'two'].map((name) => join(temporary, name));
  for (const copy of copies) {
    mkdirSync(copy);
    cpSync(dist, join(copy, 'dist'), { recursive: true });
  }
  for (const copy of copies) {
    const file = join(copy, 'program.mjs');
    writeFileSync(file, `
const { Pool } = await import(${JSON.stringify(join(copy, 'dist/esm/index.js'))});
try { new Pool(-1); } catch (error) { console.log(error.stack); }
`);
    const r = await runCommand(process.execPath, [file], 45_000, { env: { ...process.env, TMPDIR: temporary } });
    assert.equal(r.code, 0, r.stderr);
    const frames = r.stdout.split('\n').filter((line) => line.includes('library.js'));
    assert.ok(frames.length > 0, r.stdout);
    for (const frame of frames) assert.ok(frame.includes(join(copy, 'dist/cjs/library.js')), `${copy}: ${frame}`);
  }
});
