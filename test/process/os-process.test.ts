// What only the 'process' start method does: a child is an OS process of its own, so a task that aborts,
// kills itself or runs out of memory ends its child only; exit codes are the signal's, negated, as in
// Python; and no child outlives its pool, its program, or its parent's death (checked in /proc and with
// kill(pid, 0), each with a deadline). Runs once, on Linux.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { currentProcess, getAllStartMethods, getContext, WorkerLostError } from '../../src/index.js';
import { abort, exhaustMemory, idleForever, killSelf, noop, pid, square, whoAmI } from '../fixtures/process/os-tasks.js';
import { until, within } from '../fixtures/until.js';
import { runNode } from '../fixtures/process/subprocess.js';

// The checks read /proc: Linux only.
const available = getAllStartMethods().includes('process') && process.platform === 'linux';
const T = { timeout: 90_000, skip: available ? false : `these checks of 'process' children read /proc, which ${process.platform} lacks` };
const { Pool, Process } = available ? getContext('process') : ({} as ReturnType<typeof getContext>);

/** True once `pid` is no process, or a zombie (dead, not yet reaped by whoever is its parent now). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true; // gone between the two looks
  }
}

/** The pids of this process's children still running (Linux: /proc/<pid>/task/<tid>/children; tsx's esbuild among them). */
function runningChildren(): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    const listed = readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim();
    if (listed !== '') pids.push(...listed.split(/\s+/).map(Number));
  }
  return pids.filter((p) => !isGone(p));
}

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

test('Process: a child ended by a signal has minus its number as exitCode (-15, -9), and its pid is gone', T, async () => {
  for (const [signal, code] of [['SIGTERM', -15], ['SIGKILL', -9]] as const) {
    const p = new Process({ target: killSelf, args: [signal] });
    p.start();
    await within(p.join(), `the child killing itself with ${signal}`, 60_000);
    assert.equal(p.exitCode, code);
    await until(`pid ${p.pid} gone`, () => isGone(p.pid!), 10_000);
  }
  // terminate() and kill() signal the OS process itself: gone, not merely reported so.
  for (const [stop, code] of [['terminate', -15], ['kill', -9]] as const) {
    const p = new Process({ target: idleForever });
    p.start();
    p[stop]();
    await within(p.join(), `join after ${stop}()`, 60_000);
    assert.equal(p.exitCode, code);
    await until(`pid ${p.pid} gone after ${stop}()`, () => isGone(p.pid!), 10_000);
  }
});

test('Pool: terminate() leaves no worker process behind', T, async () => {
  const pool = new Pool(3);
  const pids = new Set<number>();
  for (let round = 0; pids.size < 3 && round < 50; round++) {
    for (const p of await within(pool.map(pid, [1, 2, 3, 4, 5, 6], 1), 'map', 60_000)) pids.add(p);
  }
  assert.equal(pids.size, 3);
  await within(pool.terminate(), 'terminate', 60_000);
  await until('no worker left', () => [...pids].every(isGone), 10_000);
  assert.deepEqual(runningChildren().filter((child) => pids.has(child)), []);
});

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`the program killed by ${signal}: its process children (daemon or not, pool workers) exit too`, T, async () => {
    const program = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/process/orphans.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      program.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      await until('the program printed its children', () => out.includes('\n'), 60_000);
      const children = JSON.parse(out) as number[];
      assert.equal(children.length, 4);
      assert.ok(children.every((child) => !isGone(child)));
      program.kill(signal);
      await until(`every child of the program gone after ${signal}`, () => children.every(isGone), 10_000);
    } finally {
      program.kill('SIGKILL');
    }
  });
}

test('200 Processes started and joined leave no file descriptor and no child behind', T, async () => {
  // The built package: a child of the sources would load tsx first, several times slower to start.
  const run = await runNode([], 'test/fixtures/process/many-processes.mjs', [], 110_000);
  assert.equal(run.signal, null, 'not done within 110 s');
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { codes: [number, number][]; before: number; after: number; children: string[] };
  assert.deepEqual(result.codes, [[0, 200]]);
  assert.equal(result.after, result.before);
  assert.deepEqual(result.children, []);
});

const processSharedMemory = available && (() => {
  try {
    new (getContext('process').Value)('i', 0);
    return true;
  } catch {
    return false;
  }
})();

test("without the native addon's shared memory: ERR_MP_NO_NATIVE names the fix, and only the task that sends some fails", { ...T, skip: T.skip || (processSharedMemory && 'the addon shares memory here') }, async () => {
  const { Value, Lock } = getContext('process');
  const fix = /npm rebuild multiprocessing.*getContext\('thread'\)/s;
  assert.throws(() => new Value('i', 0), (e: Error & { code?: string }) => e.code === 'ERR_MP_NO_NATIVE' && fix.test(e.message));
  assert.throws(() => new Lock(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NO_NATIVE');
  const words = new Int32Array(new SharedArrayBuffer(4));
  const p = new Process({ target: noop as (w: Int32Array) => void, args: [words] });
  assert.throws(() => p.start(), (e: Error & { code?: string }) => e.code === 'ERR_MP_NO_NATIVE' && fix.test(e.message));
  assert.equal(p.pid, undefined, 'no child was started');
  const pool = new Pool(1);
  try {
    const outcomes = await within(Promise.allSettled([pool.apply(square, [2]), pool.apply(square, [words as never]), pool.apply(square, [3])]), 'the three tasks', 60_000);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as { code?: string }).code)),
      [4, 'ERR_MP_NO_NATIVE', 9],
    );
  } finally {
    await pool.terminate();
  }
});
