#!/usr/bin/env node
// Builds the package: the library as one CommonJS bundle (dist/cjs/library.js, by esbuild) behind its two
// entries (dist/cjs/index.js, the code-cache loader, and dist/esm/index.js, which re-exports it), the
// `multiprocessing/distributed` subpath (one bundle per flavour), and the declarations (dist/esm/**/*.d.ts
// by tsc, copied to dist/cjs as .d.cts and .d.ts).
//
// Why one file: a program imports the library once, and every worker thread imports it again; each
// module a thread loads costs it about half a millisecond to a millisecond, and the library has some
// fifty. One file made `import 'multiprocessing'` and a worker's start-up several times cheaper (see
// docs/benchmarks.md, W5); the code cache then removes most of what is left, the compile of that file
// (src/loader/code-cache.cts). Every module of the library names itself with `import.meta.url`, which in a
// bundle is the bundle's own URL: so a worker that imports "the module of a role" or "the module of a
// shared kind" loads the same single copy of the library as the program's own imports.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { createHash } from 'node:crypto';

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
// The library: one CommonJS bundle, dist/cjs/library.js. The package's entries load it: dist/cjs/index.js
// (src/loader/code-cache.cts) compiles it with a V8 code cache, and dist/esm/index.js re-exports that
// (see the loader's header for why). Children load it through the loader too (runtime/library-entry.ts).
const commonJs = {
  format: 'cjs',
  define: { 'import.meta.url': '__importMetaUrl', __MP_BUNDLE_FORMAT__: '"cjs"' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  // `import()` of a user's module stays an import (a require() could not load ES modules).
  supported: { 'dynamic-import': true },
};
// The core modules that the `multiprocessing/distributed` subpath uses, found by bundling it once with
// them left out: the library exports each as a namespace (`__internals`, not part of the API), and the
// subpath's bundles take them from there. So a program that imports both entries has one copy of the
// core: one `WorkerLostError` to catch, one registry of shared objects, one start-up.
const SRC = resolve('src');
const SUBPATH = join(SRC, 'distributed');
const coreKey = (args) => {
  if (!args.importer.startsWith(SUBPATH + sep)) return undefined;
  const target = resolve(args.resolveDir, args.path);
  return target.startsWith(SUBPATH + sep) ? undefined : relative(SRC, target).split(sep).join('/').replace(/\.js$/, '');
};
const coreModules = new Set();
await build({
  ...common,
  entryPoints: ['src/distributed/index.ts'],
  format: 'esm',
  write: false,
  plugins: [
    keepImportModuleApart,
    {
      name: 'list-core-imports',
      setup(build) {
        build.onResolve({ filter: /^\.\.?\// }, (args) => {
          const key = coreKey(args);
          if (key === undefined) return undefined;
          coreModules.add(key);
          return { path: key, external: true };
        });
      },
    },
  ],
});
const internals = [...coreModules].sort();
await build({
  ...common,
  ...commonJs,
  entryPoints: undefined,
  stdin: {
    contents: [
      "export * from './index.js';",
      ...internals.map((key, i) => `import * as core${i} from './${key}.js';`),
      `export const __internals = { ${internals.map((key, i) => `${JSON.stringify(key)}: core${i}`).join(', ')} };`,
    ].join('\n'),
    resolveDir: SRC,
    sourcefile: 'library.ts',
    loader: 'ts',
  },
  define: { ...commonJs.define, __MP_LIBRARY_LOADER__: '"./index.js"' },
  outfile: 'dist/cjs/library.js',
});
// The library's build id, from its content, at its end: the code cache is named by it. A file's
// size and time said too little: reproducible installs (a Nix store, an image built with
// SOURCE_DATE_EPOCH) give every file the same time, and V8 checks only the source's length against
// cached code, so two builds of the same length would have shared a cache and run stale code.
// (Before the source map's comment, which stays the last line.)
const library = readFileSync('dist/cjs/library.js', 'utf8');
const buildLine = `// multiprocessing-build: ${createHash('sha256').update(library).digest('hex').slice(0, 20)}\n`;
const mapAt = library.lastIndexOf('//# sourceMappingURL=');
writeFileSync('dist/cjs/library.js', mapAt === -1 ? `${library}${buildLine}` : `${library.slice(0, mapAt)}${buildLine}${library.slice(mapAt)}`);
await build({ ...common, entryPoints: ['src/loader/code-cache.cts'], format: 'cjs', outfile: 'dist/cjs/index.js', sourcemap: false });
// The names the ES module entry re-exports: those of the library as an ES module (esbuild lists them).
const asModule = await build({ ...common, format: 'esm', outfile: 'dist/esm/index.js', write: false, metafile: true });
const exportNames = Object.values(asModule.metafile.outputs).find((output) => output.entryPoint === 'src/index.ts').exports;
if (exportNames.length < 20) {
  console.error(`the library exports only ${exportNames.length} names: the build lost its export list`);
  process.exit(1);
}
mkdirSync('dist/esm', { recursive: true });
writeFileSync(
  'dist/esm/index.js',
  [
    '// The ES module entry: the CommonJS library, loaded (with its code cache) by the CommonJS entry.',
    "import { createRequire } from 'node:module';",
    "const library = createRequire(import.meta.url)('../cjs/index.js');",
    `export const { ${exportNames.join(', ')} } = library;`,
    '',
  ].join('\n'),
);
// The `multiprocessing/distributed` subpath: a bundle per flavour, of the subpath's own modules only (the
// core comes from the library's `__internals`, see above). bullmq and ioredis are
// optional peer dependencies, loaded at the first connection: they stay outside every bundle (as all
// packages do), and the core bundle must never name them (checked below).
// What each of those modules exports (esbuild lists them).
const coreExports = {};
const listed = await build({
  ...common,
  entryPoints: internals.map((key) => `src/${key}.ts`),
  plugins: [keepImportModuleApart],
  format: 'esm',
  outdir: 'dist/exports-of-the-core',
  write: false,
  metafile: true,
});
for (const output of Object.values(listed.metafile.outputs)) {
  if (output.entryPoint !== undefined) coreExports[output.entryPoint.replace(/^src\//, '').replace(/\.ts$/, '')] = output.exports;
}
const fromTheLibrary = {
  name: 'core-from-the-library',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const key = coreKey(args);
      return key === undefined ? undefined : { path: key, namespace: 'core' };
    });
    // Each core module's exports become constants of the subpath's bundle, read once as it loads: its
    // code then calls them directly, not through the getters of a CommonJS namespace on every call
    // (W10 map ran about 25% slower that way). The core has no `export let`, so nothing is live.
    build.onLoad({ filter: /.*/, namespace: 'core' }, (args) => ({
      contents: `export const { ${coreExports[args.path].join(', ')} } = __mpCore[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};
const subpath = { ...common, entryPoints: ['src/distributed/index.ts'], plugins: [keepImportModuleApart, fromTheLibrary] };
await build({
  ...subpath,
  format: 'esm',
  outfile: 'dist/esm/distributed.js',
  banner: { js: "import { createRequire as __mpCreateRequire } from 'node:module';\nconst __mpCore = __mpCreateRequire(import.meta.url)('../cjs/index.js').__internals;" },
});
await build({
  ...subpath,
  ...commonJs,
  outfile: 'dist/cjs/distributed.js',
  banner: { js: `${commonJs.banner.js}\nconst __mpCore = require('./index.js').__internals;` },
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
for (const bundle of ['dist/esm/distributed.js', 'dist/cjs/distributed.js']) {
  if (/class WorkerLostError\b/.test(readFileSync(bundle, 'utf8'))) {
    console.error(`${bundle} holds a copy of the core: it must take the core from the library (__internals)`);
    process.exit(1);
  }
}
for (const bundle of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/cjs/library.js']) {
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
