// Errors that belong to no task: a timer that throws, or a rejection nobody handles, inside a worker.
// Each is printed on stderr after `Process <worker name>:` (as Python prints a child thread's traceback)
// and the worker, and the task it is running, go on. Thrown values that cannot even be read reject
// their task with a RemoteError and leave the worker alive too.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteError } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { ctx, test, threadOnly, needsSharedMemory } from '../fixtures/context.js';
import { cube } from '../fixtures/pool/tasks.js';
import {
  currentThreadId,
  rejectLater,
  strayWhileRunning,
  throwHostile,
  throwLater,
  workerName,
} from '../fixtures/pool/stray.js';
import { until } from '../fixtures/until.js';

const { Pool, Value } = ctx;

const T = { timeout: 30_000 };

// What worker threads print reaches this thread's process.stderr: collect it, and silence it. A process
// child writes to the program's stderr (fd 2) itself, as a Python child does: nothing passes here.
const CAPTURED = threadOnly("a process child writes to the program's stderr itself, which this test cannot capture");

function captureStderr(t: TestContext): { text: () => string } {
  let captured = '';
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  return { text: () => captured };
}

// A Pool(1): every task runs on the same worker unless it was replaced, which the thread id shows.
async function sameWorkerGoesOn(pool: mp.Pool, thread: number): Promise<void> {
  assert.equal(await pool.apply(currentThreadId), thread, 'the worker was replaced');
  assert.deepEqual(await pool.map(cube, [1, 2, 3, 4], 1), [1, 8, 27, 64]);
  assert.equal(await pool.apply(currentThreadId), thread, 'the worker was replaced');
}

test('a timer that throws after its task returned: reported naming the worker; the worker lives on', { ...T, ...CAPTURED, ...needsSharedMemory }, async (t) => {
  const stderr = captureStderr(t);
  const pool = new Pool(1);
  try {
    const name = await pool.apply(workerName);
    assert.match(name, /^PoolWorker-\d+(:\d+)*$/);
    const done = new Value('i', 0);
    const thread = await pool.apply(throwLater, [done, 'stray timer']);
    await until('the timer ran', () => done.value === 1);
    await until('the error is reported', () => stderr.text().includes('stray timer'));
    assert.match(stderr.text(), new RegExp(`^Process ${name}:\\nError: stray timer\\n\\s+at `, 'm'));
    await sameWorkerGoesOn(pool, thread);
  } finally {
    await pool.terminate();
  }
});

test('an unhandled rejection after its task returned: reported naming the worker; the worker lives on', { ...T, ...CAPTURED, ...needsSharedMemory }, async (t) => {
  const stderr = captureStderr(t);
  const pool = new Pool(1);
  try {
    const name = await pool.apply(workerName);
    const done = new Value('i', 0);
    const thread = await pool.apply(rejectLater, [done, 'nobody handled this']);
    await until('the rejection was processed', () => done.value === 1);
    await until('the rejection is reported', () => stderr.text().includes('nobody handled this'));
    assert.match(stderr.text(), new RegExp(`^Process ${name}:\\nRangeError: nobody handled this\\n\\s+at `, 'm'));
    await sameWorkerGoesOn(pool, thread);
  } finally {
    await pool.terminate();
  }
});

test('a stray error while a task runs: the task still resolves, both errors are reported', { ...T, ...CAPTURED }, async (t) => {
  const stderr = captureStderr(t);
  const pool = new Pool(1);
  try {
    const name = await pool.apply(workerName);
    const thread = await pool.apply(strayWhileRunning, ['mid-task']);
    await until('both are reported', () => stderr.text().includes('mid-task (rejection)'));
    assert.match(stderr.text(), new RegExp(`^Process ${name}:\\nError: mid-task \\(timer\\)\\n`, 'm'));
    assert.match(stderr.text(), new RegExp(`^Process ${name}:\\nError: mid-task \\(rejection\\)\\n`, 'm'));
    await sameWorkerGoesOn(pool, thread);
  } finally {
    await pool.terminate();
  }
});

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
