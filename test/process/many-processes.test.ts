// 1,000 'process' children started and joined, each mapping one shared Value and a Queue's ring, leave no
// file descriptor, no memfd segment and no child behind (issue 14). A file of its own: it takes a while,
// and each file has a time limit. Runs once, on Linux, with the addon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T } from '../fixtures/process/os.js';
import { runNode } from '../fixtures/process/subprocess.js';
import { loadNative } from '../../src/runtime/process/native.js';

const COUNT = 1000;
const addon = loadNative();

test(`${COUNT} Processes sharing a Value and a Queue leave no fd, no memfd and no child behind`, { ...T, timeout: 230_000, skip: T.skip || (addon.native === undefined && `no native addon: ${addon.reason}`) }, async () => {
  // The built package: a child of the sources would load tsx first, several times slower to start.
  const run = await runNode([], 'test/fixtures/process/many-processes.mjs', [String(COUNT)], 225_000);
  assert.equal(run.signal, null, 'not done within 225 s');
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as {
    codes: [number, number][];
    total: number;
    pids: number;
    before: { fds: number; memfds: number };
    after: { fds: number; memfds: number };
    children: string[];
  };
  assert.deepEqual(result.codes, [[0, COUNT]]);
  assert.equal(result.total, COUNT, 'every child incremented the shared Value once, under its lock');
  assert.equal(result.pids, COUNT, 'every child put its own pid on the queue');
  assert.ok(result.before.memfds >= 1, 'the Value and the queue live in memfd segments');
  assert.deepEqual(result.after, result.before);
  assert.deepEqual(result.children, []);
});
