// examples/index.ts (what `npm start` runs): every NN-*.ts in numeric order, each in its own child
// process under a header; non-zero exit if a section fails or runs past the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const runner = fileURLToPath(new URL('../../examples/index.ts', import.meta.url));
const sections = fileURLToPath(new URL('../fixtures/package/examples/', import.meta.url));

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

test('runs numbered sections in numeric order with headers; fails on a failing or overlong section', { timeout: 60_000 }, async () => {
  const r = await run([], { MP_EXAMPLES_DIR: sections, MP_EXAMPLES_LIMIT_MS: '3000' });
  assert.equal(r.code, 1);
  const order = [...r.stdout.matchAll(/section (\w+) ran/g)].map((m) => m[1]);
  assert.deepEqual(order, ['one', 'two', 'three', 'ten']);
  assert.match(r.stdout, /={72}\n01 · ok\n={72}/);
  assert.match(r.stdout, /ok {3}01-ok\.ts/);
  assert.match(r.stdout, /FAIL 02-fails\.ts \([\d.]+ s\): exit code 3/);
  assert.match(r.stdout, /FAIL 10-hangs\.ts \([\d.]+ s\): took more than 3 s, stopped/);
  assert.match(r.stdout, /2 of 4 sections failed/);
  assert.doesNotMatch(r.stdout, /must not run/);
});

test('selected sections only; exit 0 when they pass', { timeout: 60_000 }, async () => {
  const r = await run(['01', '3'], { MP_EXAMPLES_DIR: sections });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /all 2 sections passed/);
});

test('the real tutorial sections are found', { timeout: 60_000 }, async () => {
  const r = await run(['99999'], {});
  assert.equal(r.code, 1, 'no section 99999');
  const all = await import('node:fs').then((fs) => fs.readdirSync(fileURLToPath(new URL('../../examples/', import.meta.url))));
  assert.ok(all.includes('01-process.ts'));
});
