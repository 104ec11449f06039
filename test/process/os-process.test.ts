// What only the 'process' start method does: a child is an OS process of its own, so a task that aborts,
// kills itself or runs out of memory ends its child only, with the signal's number, negated, as its exit
// code (Python's); a worker knows itself as its own process; its uncaught errors are reported as a
// thread's are; without the addon, shared memory is refused with the fix. Runs once, on Linux. (The
// lifetime checks are in os-process-lifetime.test.ts, 200 processes in many-processes.test.ts: each file
// has a time limit of its own.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentProcess, getContext, WorkerLostError } from '../../src/index.js';
import { abort, exhaustMemory, killSelf, noop, pid, square, whoAmI } from '../fixtures/process/os-tasks.js';
import { osChecks, processContext, T } from '../fixtures/process/os.js';
import { within } from '../fixtures/until.js';
import { runNode } from '../fixtures/process/subprocess.js';

const { Pool, Process } = processContext;

async function lostError(task: Promise<unknown>): Promise<WorkerLostError> {
  const error = await within(task.then(() => assert.fail('the task succeeded'), (e: unknown) => e), 'the lost task', 60_000);
  assert.ok(error instanceof WorkerLostError, String(error));
  return error;
}

for (const [what, fatalTask, code] of [
  ['process.abort()', () => ({ fn: abort, args: [] as string[] }), -6],
  ["process.kill(process.pid, 'SIGKILL')", () => ({ fn: killSelf, args: ['SIGKILL'] }), -9],
] as const) {
  test(`Pool: a task calling ${what} fails with WorkerLostError (exitCode ${code}); the program and the pool go on`, T, async () => {
    const pool = new Pool(2);
    try {
      const { fn, args } = fatalTask();
      const fatal = pool.apply(fn as (...a: string[]) => unknown, args);
      const alongside = [1, 2, 3, 4, 5, 6, 7, 8].map((x) => pool.apply(square, [x]));
      const error = await lostError(fatal);
      assert.equal(error.exitCode, code);
      // Tasks the dead worker had been sent ahead are lost with it (it could not say which had started);
      // every other task runs, on the other worker or on the dead one's replacement.
      const settled = await within(Promise.allSettled(alongside), 'the other tasks', 60_000);
      settled.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') assert.equal(outcome.value, (i + 1) ** 2);
        else assert.ok(outcome.reason instanceof WorkerLostError && outcome.reason.exitCode === code, String(outcome.reason));
      });
      assert.ok(settled.some((outcome) => outcome.status === 'fulfilled'));
      const after = await within(pool.map(pid, [1, 2, 3, 4, 5, 6], 1), 'map after', 60_000);
      assert.ok(!after.includes(process.pid));
      assert.deepEqual(await within(pool.map(square, [1, 2, 3]), 'map after', 60_000), [1, 4, 9]);
    } finally {
      await pool.terminate();
    }
  });
}

test("a pool worker is its own OS process: currentProcess() has its pid as pid and ident, parentProcess() is the program", T, async () => {
  const pool = new Pool({ processes: 1, name: 'Sizer' });
  try {
    const seen = await within(pool.apply(whoAmI), 'whoAmI', 60_000);
    assert.notEqual(seen.pid, process.pid);
    assert.equal(seen.ppid, process.pid);
    assert.deepEqual(seen.self, { name: (seen.self as { name: string }).name, pid: seen.pid, ident: seen.pid, daemon: true });
    assert.match((seen.self as { name: string }).name, /^Sizer-\d+$/);
    assert.deepEqual(seen.parent, currentProcess());
  } finally {
    await pool.terminate();
  }
});

test("a process child's uncaught error: exit code 1, and 'Process <name>:' with the stack on the program's stderr", T, async () => {
  const run = await runNode(['--import', 'tsx'], 'test/fixtures/process/child-errors.ts', [], 60_000);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '[1,1]\n');
  assert.match(run.stderr, /^Process thrower:\nRangeError: from thrower\n\s+at /m);
  assert.match(run.stderr, /^Process timer:\nTypeError: from timer\n\s+at /m);
});

test('Pool: a per-process heap limit ends only the task that exceeds it', T, async () => {
  const pool = new Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } });
  try {
    const error = await lostError(pool.apply(exhaustMemory));
    assert.ok(error.exitCode !== 0 && error.exitCode !== null, `exitCode ${error.exitCode}`);
    assert.equal(await within(pool.apply(square, [7]), 'the next task', 60_000), 49);
  } finally {
    await pool.terminate();
  }
});

const processSharedMemory = osChecks && (() => {
  try {
    new (getContext('process').Value)('i', 0);
    return true;
  } catch {
    return false;
  }
})();

test("without the native addon's shared memory: ERR_MP_NATIVE_UNAVAILABLE names the fix, and only the task that sends some fails", { ...T, skip: T.skip || (processSharedMemory && 'the addon shares memory here') }, async () => {
  const { Value, Lock } = getContext('process');
  const fix = /npm rebuild multiprocessing.*getContext\('thread'\)/s;
  assert.throws(() => new Value('i', 0), (e: Error & { code?: string }) => e.code === 'ERR_MP_NATIVE_UNAVAILABLE' && fix.test(e.message));
  assert.throws(() => new Lock(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NATIVE_UNAVAILABLE');
  const words = new Int32Array(new SharedArrayBuffer(4));
  const p = new Process({ target: noop as (w: Int32Array) => void, args: [words] });
  assert.throws(() => p.start(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NATIVE_UNAVAILABLE' && fix.test(e.message));
  assert.equal(p.pid, undefined, 'no child was started');
  const pool = new Pool(1);
  try {
    const outcomes = await within(Promise.allSettled([pool.apply(square, [2]), pool.apply(square, [words as never]), pool.apply(square, [3])]), 'the three tasks', 60_000);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code?: string }).code)),
      [4, 'ERR_MP_NATIVE_UNAVAILABLE', 9],
    );
  } finally {
    await pool.terminate();
  }
});
