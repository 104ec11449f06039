// The subpath without its optional peer dependencies, as a user meets it (issue 15: "importing the
// subpath without them says what to install"): the packed package installed into a scratch project
// that has neither bullmq nor ioredis; importing `multiprocessing/distributed` from ES modules and from
// CommonJS, and starting the worker command, fail naming both packages and the command that installs
// them, while the core package works. The install skips the package's install script (the native
// addon is not needed here), which keeps the file to about 10 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../fixtures/process/subprocess.js';
import { fixture } from '../fixtures/distributed/redis.js';
import { npm, packInto, scratchEnv, succeeded } from '../fixtures/package/scratch.js';

const T = { timeout: 120_000 };
const expected = {
  code: 'ERR_MP_MISSING_DEPENDENCY',
  message:
    "multiprocessing/distributed needs the packages 'bullmq' and 'ioredis' (optional peer dependencies, so the core never " +
    "loads them), and 'bullmq' and 'ioredis' are not installed: run npm install bullmq ioredis",
};
let scratch = '';

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'mp-no-peers-'));
  const tarball = await packInto(scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  cpSync(fixture('missing-peers'), scratch, { recursive: true });
  succeeded(await npm(['install', `./${tarball}`, '--ignore-scripts'], scratch), `npm install ${tarball}`);
  for (const name of ['bullmq', 'ioredis']) assert.equal(existsSync(join(scratch, 'node_modules', name)), false, `npm installed ${name}`);
}, T);

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

const inScratch = (args: string[]) => runCommand(process.execPath, args, 30_000, { cwd: scratch, env: scratchEnv });

test('import of multiprocessing/distributed (ES modules) names what to install; the core package still loads', T, async () => {
  const r = await inScratch(['import.mjs']);
  succeeded(r, 'node import.mjs');
  assert.equal(r.stdout, `${JSON.stringify(expected)}\nnumber\n`);
});

test('require of multiprocessing/distributed (CommonJS) names what to install; the core package still loads', T, async () => {
  const r = await inScratch(['require.cjs']);
  succeeded(r, 'node require.cjs');
  assert.equal(r.stdout, `${JSON.stringify(expected)}\nnumber\n`);
});

test('the worker command exits 1, naming what to install', T, async () => {
  const r = await inScratch(['node_modules/multiprocessing/dist/esm/cli.js', 'worker', '--url', 'redis://127.0.0.1:6379', '--import', './tasks.js']);
  assert.equal(r.signal, null, `still running after 30 s:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(expected.message), r.stderr);
  assert.ok(r.stderr.includes(expected.code), r.stderr);
});
