#!/usr/bin/env node
// Builds the package: one bundled file per flavour (dist/esm/index.js, dist/cjs/index.js, by esbuild) and
// the declarations (dist/esm/**/*.d.ts by tsc, copied to dist/cjs as .d.cts and .d.ts).
//
// Why one file: a program imports the library once, and every worker thread imports it again; each
// module a thread loads costs it about half a millisecond to a millisecond, and the library has some
// fifty. One file made `import 'multiprocessing'` and a worker's start-up several times cheaper (see
// docs/benchmarks.md, W5). Every module of the library names itself with `import.meta.url`, which in a
// bundle is the bundle's own URL: so a worker that imports "the module of a role" or "the module of a
// shared kind" loads the same single copy of the library as the program's own imports.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// runtime/import-module.ts stays a file of its own beside the bundle, so that the bundle holds no
// `import()`: tsx rewrites every ES module that does (see that module's header).
const IMPORT_MODULE = 'import-module.js';
const keepImportModuleApart = {
  name: 'keep-import-module-apart',
  setup(build) {
    build.onResolve({ filter: /[\\/]import-module\.js$/ }, () => ({ path: `./${IMPORT_MODULE}`, external: true }));
  },
};

const common = {
  entryPoints: ['src/index.ts'],
  plugins: [keepImportModuleApart],
  bundle: true,
  platform: 'node',
  target: 'node20',
  // acorn, eslint-scope and msgpackr stay packages of their own, loaded when first needed.
  packages: 'external',
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: 'dist/esm/index.js' });
await build({
  ...common,
  format: 'cjs',
  outfile: 'dist/cjs/index.js',
  define: { 'import.meta.url': '__importMetaUrl', __MP_BUNDLE_FORMAT__: '"cjs"' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // `import()` of a user's module stays an import (a require() could not load ES modules).
  supported: { 'dynamic-import': true },
});
// The `multiprocessing/distributed` subpath: a second bundle per flavour. bullmq and ioredis are
// optional peer dependencies, loaded at the first connection: they stay outside every bundle (as all
// packages do), and the core bundle must never name them (checked below).
await build({ ...common, entryPoints: ['src/distributed/index.ts'], format: 'esm', outfile: 'dist/esm/distributed.js' });
await build({
  ...common,
  entryPoints: ['src/distributed/index.ts'],
  format: 'cjs',
  outfile: 'dist/cjs/distributed.js',
  define: { 'import.meta.url': '__importMetaUrl', __MP_BUNDLE_FORMAT__: '"cjs"' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  supported: { 'dynamic-import': true },
});
// The worker command (package.json `bin`): argument parsing only, over the subpath's own bundle.
await build({
  ...common,
  entryPoints: ['src/distributed/cli.ts'],
  format: 'esm',
  outfile: 'dist/esm/cli.js',
  banner: { js: '#!/usr/bin/env node' },
  plugins: [
    {
      name: 'cli-over-the-subpath-bundle',
      setup(build) {
        build.onResolve({ filter: /^\.\/index\.js$/ }, () => ({ path: './distributed.js', external: true }));
      },
    },
  ],
});
for (const bundle of ['dist/esm/index.js', 'dist/cjs/index.js']) {
  if (/\b(bullmq|ioredis)\b/.test(readFileSync(bundle, 'utf8'))) {
    console.error(`${bundle} names bullmq or ioredis: the core must not depend on the distributed subpath`);
    process.exit(1);
  }
}

const importModule = { entryPoints: ['src/runtime/import-module.ts'], platform: 'node', target: 'node20', logLevel: 'warning' };
await build({ ...importModule, format: 'esm', outfile: `dist/esm/${IMPORT_MODULE}` });
await build({ ...importModule, format: 'cjs', outfile: `dist/cjs/${IMPORT_MODULE}`, supported: { 'dynamic-import': true } });
// The main module of a 'process' child (runtime/process/child-entry.cjs): it loads the bundle beside it.
const processChild = { entryPoints: ['src/runtime/process/child-entry.cjs'], platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', supported: { 'dynamic-import': true } };
for (const flavour of ['esm', 'cjs']) await build({ ...processChild, outfile: `dist/${flavour}/process-child.cjs` });

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}
for (const file of walk('dist/esm')) {
  if (!file.endsWith('.d.ts')) continue;
  const target = file.replace(/^dist[\\/]esm/, join('dist', 'cjs'));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(file, target.replace(/\.d\.ts$/, '.d.cts'));
  copyFileSync(file, target);
}
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
chmodSync('dist/esm/cli.js', 0o755);
console.log('built dist/esm and dist/cjs');
