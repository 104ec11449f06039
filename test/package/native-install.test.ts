// The native addon is an optional part of the package: npm builds it at install (`scripts/build-native.mjs
// --install`, the package's `install` script), and a machine without a compiler must still install the
// package. These tests run the script on a copy of what the package ships, with a compiler that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A folder laid out as the installed package's native parts (the paths `files` ships). */
function shippedCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mp-native-install-'));
  cpSync(join(root, 'scripts', 'build-native.mjs'), join(dir, 'scripts', 'build-native.mjs'));
  cpSync(join(root, 'native', 'binding.gyp'), join(dir, 'native', 'binding.gyp'));
  cpSync(join(root, 'native', 'src'), join(dir, 'native', 'src'), { recursive: true });
  return dir;
}

function buildWithBrokenCompiler(dir: string, args: string[]) {
  return spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CXX: '/bin/false', CC: '/bin/false', MULTIPROCESSING_NO_NATIVE: '' },
    timeout: 120_000,
  });
}

test('the package ships the addon sources and builds them from its install script', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string> };
  for (const path of ['native/binding.gyp', 'native/src', 'scripts/build-native.mjs']) assert.ok(manifest.files.includes(path), `files lacks ${path}`);
  assert.equal(manifest.scripts.install, 'node scripts/build-native.mjs --install');
});

test('a failed build at install prints what is missing and exits 0; build:native fails', { skip: process.platform !== 'linux' && 'the addon is Linux-only', timeout: 240_000 }, () => {
  const dir = shippedCopy();
  try {
    const installing = buildWithBrokenCompiler(dir, ['--install']);
    assert.equal(installing.status, 0, installing.stderr);
    assert.match(installing.stderr, /multiprocessing \(optional native addon\): not built, the build failed; it needs a C\+\+ compiler/);
    assert.match(installing.stderr, /npm rebuild multiprocessing/);

    const developing = buildWithBrokenCompiler(dir, []);
    assert.equal(developing.status, 1);
    assert.match(developing.stderr, /build:native: the build failed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
