#!/usr/bin/env node
// Builds the native addon (native/: shared memory and futex(2) across processes, for the 'process'
// start method) with node-gyp, offline.
//
// node-gyp comes with npm, and a bare `node-gyp rebuild` downloads Node's headers, which fails without a
// network. Every Node installation we support ships its headers under its prefix (include/node/node.h:
// both the distro layout, /usr, and the official tarball's), so we point node-gyp there with --nodedir.
// Needs a C++ compiler, make and python3. Linux only for now (memfd_create, futex).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.platform !== 'linux') {
  console.log(`build:native: skipped, the addon needs Linux (this is ${process.platform})`);
  process.exit(0);
}

/** npm's own copy of node-gyp: beside the npm that runs this script, or the one installed with this node. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((candidate) => existsSync(candidate));
}

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) {
  console.error('build:native: node-gyp not found (it comes with npm); install npm, or run `npx node-gyp rebuild --directory native`');
  process.exit(1);
}
const args = [nodeGyp, 'rebuild', '--directory', join(root, 'native')];
const prefix = dirname(dirname(process.execPath));
if (existsSync(join(prefix, 'include', 'node', 'node.h'))) args.push(`--nodedir=${prefix}`);
else console.warn(`build:native: no headers under ${prefix}/include/node; node-gyp will try to download them`);

const built = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
if (built.status !== 0) {
  console.error('build:native: the build failed; it needs a C++ compiler (g++), make and python3');
  process.exit(built.status ?? 1);
}
