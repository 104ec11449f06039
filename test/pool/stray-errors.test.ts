// Errors that belong to no task: a timer that throws, or a rejection nobody handles, inside a worker.
// Each is printed on stderr after `Process <worker name>:` (as Python prints a child thread's traceback)
// and the worker, and the task it is running, go on. Thrown values that cannot even be read reject
// their task with a RemoteError and leave the worker alive too.
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { RemoteError } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { cube } from '../fixtures/pool/tasks.js';
import { currentThreadId, throwHostile } from '../fixtures/pool/stray.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };

// A worker writes to the program's stderr (fd 2) itself, as a Python child does, in every start method:
// each case runs as a program of its own (fixtures/pool/stray-report.ts), whose stderr is read.
const report = fileURLToPath(new URL('../fixtures/pool/stray-report.ts', import.meta.url));

async function strayReport(mode: string): Promise<{ name: string; stderr: string }> {
  const r = await runTs(report, [mode]);
  assert.equal(r.code, 0, r.stderr);
  const name = r.stdout.trim();
  assert.match(name, /^PoolWorker-\d+(:\d+)*$/);
  return { name, stderr: r.stderr };
}

test('a timer that throws after its task returned: reported naming the worker; the worker lives on', { ...T, ...needsSharedMemory }, async () => {
  const { name, stderr } = await strayReport('timer');
  assert.match(stderr, new RegExp(`^Process ${name}:\\nError: stray timer\\n\\s+at `, 'm'));
});

test('an unhandled rejection after its task returned: reported naming the worker; the worker lives on', { ...T, ...needsSharedMemory }, async () => {
  const { name, stderr } = await strayReport('rejection');
  assert.match(stderr, new RegExp(`^Process ${name}:\\nRangeError: nobody handled this\\n\\s+at `, 'm'));
});

test('a stray error while a task runs: the task still resolves, both errors are reported', { ...T, ...needsSharedMemory }, async () => {
  const { name, stderr } = await strayReport('while-running');
  assert.match(stderr, new RegExp(`^Process ${name}:\\nError: mid-task \\(timer\\)\\n`, 'm'));
  assert.match(stderr, new RegExp(`^Process ${name}:\\nError: mid-task \\(rejection\\)\\n`, 'm'));
});

// A Pool(1): every task runs on the same worker unless it was replaced, which the thread id shows.
async function sameWorkerGoesOn(pool: mp.Pool, thread: number): Promise<void> {
  assert.equal(await pool.apply(currentThreadId), thread, 'the worker was replaced');
  assert.deepEqual(await pool.map(cube, [1, 2, 3, 4], 1), [1, 8, 27, 64]);
  assert.equal(await pool.apply(currentThreadId), thread, 'the worker was replaced');
}

test('thrown values that cannot be read reject with RemoteError; the worker lives on', T, async () => {
  const pool = new Pool(1);
  try {
    const thread = await pool.apply(currentThreadId);
    for (const kind of ['message', 'name', 'stack', 'cause', 'revoked-proxy', 'constructor']) {
      const error = await pool.apply(throwHostile, [kind]).then(
        () => assert.fail(`${kind}: should reject`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RemoteError, `${kind}: ${String(error)}`);
      assert.equal(error.code, 'ERR_MP_REMOTE');
      assert.match(error.message, /^a thrown \w+ could not be read: reading its \w+ threw /, kind);
      await assert.rejects(pool.map(throwHostile, [kind]), (e: unknown) => e instanceof RemoteError, `${kind} in a map`);
    }
    await sameWorkerGoesOn(pool, thread);
  } finally {
    await pool.terminate();
  }
});
