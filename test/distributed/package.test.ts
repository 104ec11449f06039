// The built subpath (dist/, made by `npm run build`): `multiprocessing/distributed` for ESM and
// CommonJS, bullmq and ioredis outside the core bundles, and the built worker command serving a driver
// that imports the package as users do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startWorker, useCluster } from '../fixtures/distributed/cluster.js';
import { within } from '../fixtures/until.js';

const T = { timeout: 120_000 };
const root = fileURLToPath(new URL('../../', import.meta.url));

const { redis } = await useCluster('package');

test('the core bundles never name bullmq or ioredis (optional peer dependencies of the subpath only)', T, () => {
  for (const bundle of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/cjs/library.js']) {
    assert.doesNotMatch(readFileSync(`${root}${bundle}`, 'utf8'), /\b(bullmq|ioredis)\b/, bundle);
  }
  const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
    bin: Record<string, string>;
  };
  assert.equal(manifest.dependencies.bullmq, undefined);
  assert.equal(manifest.dependencies.ioredis, undefined);
  assert.deepEqual(manifest.peerDependenciesMeta, { bullmq: { optional: true }, ioredis: { optional: true } });
  assert.equal(manifest.bin.multiprocessing, './dist/esm/cli.js');
});

test("import and require of 'multiprocessing/distributed' give the subpath from dist", T, async () => {
  assert.equal(import.meta.resolve('multiprocessing/distributed'), new URL('dist/esm/distributed.js', `file://${root}`).href);
  const esm = await import('multiprocessing/distributed');
  assert.equal(typeof esm.Pool, 'function');
  assert.equal(typeof esm.runWorker, 'function');
  const require = createRequire(import.meta.url);
  assert.equal(require.resolve('multiprocessing/distributed'), `${root}dist/cjs/distributed.js`);
  const cjs = require('multiprocessing/distributed') as typeof esm;
  assert.equal(typeof cjs.Pool, 'function');
});

test("'multiprocessing' and 'multiprocessing/distributed' share one copy of the core (ESM and CommonJS)", T, async () => {
  const require = createRequire(import.meta.url);
  const entries = [
    [await import('multiprocessing'), await import('multiprocessing/distributed')],
    [require('multiprocessing'), require('multiprocessing/distributed')],
  ] as const;
  for (const [core, subpath] of entries) {
    for (const name of ['WorkerLostError', 'TimeoutError', 'RemoteError', 'Empty', 'Full', 'BrokenBarrierError', 'AsyncResult']) {
      assert.equal(subpath[name as keyof typeof subpath], core[name as keyof typeof core], name);
    }
  }
  assert.equal(entries[0][1].WorkerLostError, entries[1][1].WorkerLostError);
});

test('the built worker command serves a driver that imports the built package', T, async () => {
  const namespace = 'built';
  await startWorker({ url: redis.url, namespace, build: 'dist', imports: ['./test/fixtures/distributed/tasks.mjs'], processes: 2 });
  const { Pool } = await import('multiprocessing/distributed');
  const { cube, spin } = await import('../fixtures/distributed/tasks.mjs');
  const pool = new Pool({ url: redis.url, namespace });
  try {
    assert.deepEqual(await within(pool.map(cube, [1, 2, 3, 4]), 'map through the built packages', 60_000), [1, 8, 27, 64]);
    // Caught as the core's class: the subpath's errors are the core's (one copy of the library).
    const { TimeoutError } = await import('multiprocessing');
    await assert.rejects(within(pool.apply(spin, [5_000], { timeout: 100 }), 'a task past its timeout'), (error) => error instanceof TimeoutError);
  } finally {
    pool.close();
    await within(pool.join(), 'join');
  }
});

test('the built worker command refuses a TypeScript module plain node cannot load, naming the command that can', T, () => {
  const args = [`${root}dist/esm/cli.js`, 'worker', '--url', redis.url, '--namespace', 'ts', '--import', './test/fixtures/distributed/tasks.ts'];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /ERR_MP_TYPESCRIPT_LOADER: --import \.\/test\/fixtures\/distributed\/tasks\.ts is TypeScript/);
  const fix = `node --import tsx node_modules/.bin/multiprocessing worker --url ${redis.url} --namespace ts --import ./test/fixtures/distributed/tasks.ts`;
  assert.ok(r.stderr.includes(fix), r.stderr);
});
