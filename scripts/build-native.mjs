#!/usr/bin/env node
// Builds the native addon (native/: shared memory and futex(2) across processes, for the 'process'
// start method) with node-gyp, offline.
//
// Two callers:
// - `npm run build:native` (and `npm test`): a failed build is an error.
// - `--install`: the package's `install` script, run by npm when a user installs the package. The addon
//   is optional (the 'thread' start method never needs it, and 'process' says what to do without it),
//   so a failed build prints what is missing and never fails the install.
// Both skip the build when the addon is already built from the same sources for this Node's ABI.
//
// node-gyp comes with npm, and a bare `node-gyp rebuild` downloads Node's headers, which fails without a
// network. Every Node installation we support ships its headers under its prefix (include/node/node.h:
// both the distro layout, /usr, and the official tarball's), so we point node-gyp there with --nodedir.
// Needs a C++ compiler, make and python3. Linux only for now (memfd_create, futex).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const releaseDir = join(nativeDir, 'build', 'Release');
const stampFile = join(nativeDir, 'build', 'multiprocessing-build.json');
const OUTPUTS = ['multiprocessing_native.node', 'multiprocessing_napi.node'];
const installing = process.argv.includes('--install');
const tag = installing ? 'multiprocessing (optional native addon)' : 'build:native';

/** Ends the script: an install never fails because of the optional addon. */
function fail(message) {
  if (installing) {
    console.warn(`${tag}: not built, ${message}.\n` +
      `  The 'thread' start method works without it. For shared memory across processes ('process'), install a C++ ` +
      `compiler, make and python3, then run \`npm rebuild multiprocessing\`.`);
    process.exit(0);
  }
  console.error(`${tag}: ${message}`);
  process.exit(1);
}

if (process.platform !== 'linux') {
  console.log(`${tag}: skipped, the addon needs Linux (this is ${process.platform})`);
  process.exit(0);
}
if (installing && process.env.MULTIPROCESSING_NO_NATIVE === '1') {
  console.log(`${tag}: skipped (MULTIPROCESSING_NO_NATIVE=1)`);
  process.exit(0);
}

/** What the addon is built from, and for which ABI: when it has not changed, nothing is rebuilt. */
function buildKey() {
  const sources = [join(nativeDir, 'binding.gyp'), ...readdirSync(join(nativeDir, 'src')).map((name) => join(nativeDir, 'src', name))];
  return JSON.stringify({
    abi: process.versions.modules,
    node: process.version,
    sources: sources.map((file) => [file.slice(nativeDir.length + 1), statSync(file).size, statSync(file).mtimeMs]),
  });
}
const key = buildKey();
const upToDate = OUTPUTS.every((name) => existsSync(join(releaseDir, name))) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === key;
if (upToDate && !process.argv.includes('--force')) {
  console.log(`${tag}: up to date (${releaseDir})`);
  process.exit(0);
}

/** npm's own copy of node-gyp: the one npm names to its scripts, beside the npm that runs this, or with this node. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((candidate) => existsSync(candidate));
}

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) fail('node-gyp was not found (it comes with npm); install npm, or run `npx node-gyp rebuild --directory native`');
const args = [nodeGyp, 'rebuild', '--directory', nativeDir];
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node.h'))) args.push(`--nodedir=${prefix}`);
else console.warn(`${tag}: no headers under ${prefix}/include/node; node-gyp will try to download them`);

// A user's install shows node-gyp's output only when the build fails; a developer's build shows it all.
const built = spawnSync(process.execPath, args, { stdio: installing ? 'pipe' : 'inherit', cwd: root, encoding: 'utf8' });
if (built.status !== 0) {
  if (installing) {
    const log = `${built.stdout ?? ''}${built.stderr ?? ''}`.trim().split('\n').slice(-12).join('\n');
    if (log !== '') console.warn(log);
  }
  fail(built.error ? `node-gyp did not run (${built.error.message})` : 'the build failed; it needs a C++ compiler (g++), make and python3');
}
writeFileSync(stampFile, key);
console.log(`${tag}: built into ${releaseDir}`);
