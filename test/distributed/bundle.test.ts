// The distributed shared objects from the built package (dist/, made by `npm run build`), run by plain
// node: the helper thread of the blocking forms must load the bundle it came from, ESM and CommonJS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, useRedis } from '../fixtures/distributed/redis.js';
import { runNode } from '../fixtures/process/subprocess.js';

const T = { timeout: 60_000 };
const server = await useRedis();

test('the ESM bundle: blocking Lock, Queue, Value and Array', T, async () => {
  const r = await runNode([], fixture('bundle-user.mjs'), [server.url], 50_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'number 1n 42 1,2');
});

test('the CommonJS bundle: blocking Lock and Event', T, async () => {
  const r = await runNode([], fixture('bundle-user.cjs'), [server.url], 50_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'number true');
});
