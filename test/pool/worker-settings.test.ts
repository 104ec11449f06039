// Per-pool worker settings, as Node's Worker and piscina take them: env, argv, execArgv, and name.
import assert from 'node:assert/strict';
import { ctx, test, threadOnly } from '../fixtures/context.js';
import { readEnv, workerArgv, workerExecArgv, workerName } from '../fixtures/pool/worker-info.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };

test("env is the workers' process.env: what it lists, nothing else; undefined values are left out", T, async () => {
  const pool = new Pool({ processes: 1, env: { MP_TEST_GREETING: 'from the pool', MP_TEST_UNSET: undefined } });
  try {
    assert.equal(await pool.apply(readEnv, ['MP_TEST_GREETING']), 'from the pool');
    assert.equal(await pool.apply(readEnv, ['MP_TEST_UNSET']), undefined);
    assert.equal(await pool.apply(readEnv, ['PATH']), undefined);
  } finally {
    await pool.terminate();
  }
});

test("without env, a worker's process.env is a copy of the program's as the worker starts", T, async () => {
  process.env['MP_TEST_INHERITED'] = 'first';
  const pool = new Pool({ processes: 1, minProcesses: 0, idleTimeout: Infinity, maxTasksPerChild: 1 });
  try {
    assert.equal(await pool.apply(readEnv, ['MP_TEST_INHERITED']), 'first');
    assert.equal(await pool.apply(readEnv, ['PATH']), process.env['PATH']);
    // The next task runs on a new worker, started for it (maxTasksPerChild 1, minProcesses 0), after the
    // change: it copies the program's env anew.
    process.env['MP_TEST_INHERITED'] = 'second';
    assert.equal(await pool.apply(readEnv, ['MP_TEST_INHERITED']), 'second');
  } finally {
    delete process.env['MP_TEST_INHERITED'];
    await pool.terminate();
  }
});

test("argv is appended to the workers' process.argv", T, async () => {
  const pool = new Pool({ processes: 1, argv: ['--mode', 'fast'] });
  const plain = new Pool({ processes: 1 });
  try {
    assert.deepEqual(await pool.apply(workerArgv), ['--mode', 'fast']);
    assert.deepEqual(await plain.apply(workerArgv), []);
  } finally {
    await Promise.all([pool.terminate(), plain.terminate()]);
  }
});

test("execArgv is the workers' process.execArgv; without it, the program's", T, async () => {
  const pool = new Pool({ processes: 1, execArgv: ['--conditions=mp-test', '--no-deprecation'] });
  const plain = new Pool({ processes: 1 });
  try {
    assert.deepEqual(await pool.apply(workerExecArgv), ['--conditions=mp-test', '--no-deprecation']);
    assert.deepEqual(await plain.apply(workerExecArgv), process.execArgv);
  } finally {
    await Promise.all([pool.terminate(), plain.terminate()]);
  }
});

const refusedExecArgv = (e: Error & { code?: string }): boolean =>
  e instanceof TypeError &&
  e.code === 'ERR_MP_INVALID_ARG' &&
  /execArgv has options a worker thread cannot take \(--max-old-space-size=64\)/.test(e.message) &&
  /resourceLimits/.test(e.message);

const TAKES_ALL = threadOnly('a process takes every option of Node, so nothing is refused');

test('an execArgv a thread refuses: a fixed pool throws at once, naming the option and the fix', { ...T, ...TAKES_ALL }, () => {
  assert.throws(() => new Pool({ processes: 2, execArgv: ['--max-old-space-size=64'] }), refusedExecArgv);
});

test('an execArgv a thread refuses, in a pool with no worker yet: its tasks reject with that error, and it ends', { ...T, ...TAKES_ALL }, async () => {
  const pool = new Pool({ processes: 2, minProcesses: 0, execArgv: ['--max-old-space-size=64'] });
  try {
    await assert.rejects(pool.apply(workerName), refusedExecArgv);
    // The pool is broken: later tasks fail at once with the same error.
    await assert.rejects(pool.applyAsync(workerName).get(10_000), refusedExecArgv);
    assert.equal(pool.size, 0);
    pool.close();
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('name: workers are named `${name}-N` (currentProcess().name in a task), each its own', T, async () => {
  const pool = new Pool({ processes: 2, name: 'resizer' });
  const plain = new Pool({ processes: 1 });
  try {
    const names = await Promise.all([pool.apply(workerName), pool.apply(workerName)]);
    for (const name of names) assert.match(name, /^resizer-\d+$/);
    assert.equal(new Set(names).size, 2);
    assert.match(await plain.apply(workerName), /^PoolWorker-\d+$/);
  } finally {
    await Promise.all([pool.terminate(), plain.terminate()]);
  }
});

test('env, argv, execArgv and name are checked: a TypeError with ERR_MP_INVALID_ARG, naming the fix', T, () => {
  const refused = (options: object, message: RegExp): void => {
    assert.throws(
      () => new Pool({ processes: 1, ...options }),
      (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && message.test(e.message),
      JSON.stringify(options),
    );
  };
  refused({ env: 'A=1' }, /env must be an object of strings, such as \{ \.\.\.process\.env, DEBUG: '1' \}, not the string "A=1"/);
  refused({ env: { A: 1 } }, /env\.A must be a string \(process\.env holds strings\), not number 1/);
  refused({ argv: '--fast' }, /argv must be an array of strings/);
  refused({ argv: ['--n', 3] }, /argv\[1\] must be a string, not number 3/);
  refused({ execArgv: [null] }, /execArgv\[0\] must be a string, not null/);
  refused({ name: '' }, /name must be a non-empty string/);
  refused({ name: 7 }, /name must be a non-empty string, such as 'resizer'/);
});
