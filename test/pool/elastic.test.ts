// An elastic pool (minProcesses, idleTimeout): workers start as tasks wait, up to processes, and those
// above minProcesses retire once idle; the default stays Python's fixed pool. The worker count is
// observed through pool.size; that tasks ran at once, through meet() (each returns only once all of its
// parties have arrived, so N of them finishing means N workers ran side by side).
import assert from 'node:assert/strict';
import { WorkerLostError, cpuCount } from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { until } from '../fixtures/until.js';
import { cube, exitNow, failingInitCounted } from '../fixtures/pool/tasks.js';
import { meet, workerName } from '../fixtures/pool/worker-info.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };

const word = (): Int32Array => new Int32Array(sharedBuffer(4));

/** Runs `parties` meet() tasks at once; returns the names of the workers that ran them. */
async function meetAll(pool: InstanceType<typeof Pool>, parties: number): Promise<string[]> {
  const shared = word();
  return Promise.all(Array.from({ length: parties }, () => pool.apply(meet, [shared, parties])));
}

test('the default is a fixed pool: every worker starts with the pool, and they stay', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(3);
  try {
    assert.equal(pool.size, 3);
    assert.equal(new Set(await meetAll(pool, 3)).size, 3);
    assert.equal(pool.size, 3);
    pool.close();
    await pool.join();
    assert.equal(pool.size, 0);
  } finally {
    await pool.terminate();
  }
});

test('an elastic pool starts no worker before its first task, grows to processes under load, and no further', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool({ processes: 3, minProcesses: 0, idleTimeout: Infinity });
  try {
    assert.equal(pool.size, 0);
    const names = await meetAll(pool, 3);
    assert.equal(new Set(names).size, 3, `workers ${names.join(', ')}`);
    assert.equal(pool.size, 3);
    // Twelve more tasks at once: still the same three workers.
    const more = await Promise.all(Array.from({ length: 12 }, () => pool.apply(workerName)));
    assert.deepEqual([...new Set(more)].filter((name) => !names.includes(name)), []);
    assert.equal(pool.size, 3);
  } finally {
    await pool.terminate();
  }
});

test('minProcesses workers start with the pool; one task at a time needs no more', T, async () => {
  const pool = new Pool({ processes: 4, minProcesses: 2, idleTimeout: Infinity });
  try {
    assert.equal(pool.size, 2);
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add(await pool.apply(workerName));
    assert.equal(pool.size, 2);
    assert.ok(names.size <= 2, `workers ${[...names].join(', ')}`);
  } finally {
    await pool.terminate();
  }
});

test('idle workers above minProcesses retire after idleTimeout; the pool shrinks to minProcesses and keeps it', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool({ processes: 3, minProcesses: 1, idleTimeout: 100 });
  try {
    const names = await meetAll(pool, 3);
    assert.equal(new Set(names).size, 3);
    await until('the pool shrinks to 1 worker', () => pool.size === 1);
    // The one left runs the next task: no worker was started for it.
    assert.ok(names.includes(await pool.apply(workerName)));
    assert.equal(pool.size, 1);
    // And the pool grows again under load.
    assert.equal(new Set(await meetAll(pool, 3)).size, 3);
    await until('the pool shrinks to 1 worker again', () => pool.size === 1);
  } finally {
    await pool.terminate();
  }
});

test('a pool shrunk to zero runs the next task on a new worker (poolifier#1748)', T, async () => {
  const pool = new Pool({ processes: 2, minProcesses: 0, idleTimeout: 0 });
  try {
    const first = await pool.apply(workerName);
    await until('the pool shrinks to no worker', () => pool.size === 0);
    const second = await pool.apply(workerName);
    assert.notEqual(second, first);
    await until('the pool shrinks to no worker again', () => pool.size === 0);
    assert.deepEqual(await pool.map(cube, [1, 2, 3, 4, 5, 6, 7, 8], 1), [1, 8, 27, 64, 125, 216, 343, 512]);
    await until('and again', () => pool.size === 0);
    pool.close();
    await pool.join();
  } finally {
    await pool.terminate();
  }
});

test('an elastic pool that never started a worker closes, joins and terminates', T, async () => {
  const closed = new Pool({ processes: 2, minProcesses: 0 });
  closed.close();
  await closed.join();
  const terminated = new Pool({ processes: 2, minProcesses: 0 });
  await terminated.terminate();
  assert.deepEqual([closed.size, terminated.size], [0, 0]);
});

// maxTasksPerChild in an elastic pool: test/pool/max-tasks-per-child.test.ts runs each case on both shapes.

test('a worker that dies in an elastic pool rejects exactly its task; the others and the pool go on', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool({ processes: 3, minProcesses: 0, idleTimeout: Infinity });
  try {
    // Three tasks at once start three workers, one task each: two meet, one exits.
    const shared = word();
    const outcomes = await Promise.allSettled([pool.apply(meet, [shared, 2]), pool.apply(exitNow, [5]), pool.apply(meet, [shared, 2])]);
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(rejected.length, 1);
    assert.equal(outcomes[1]!.status, 'rejected');
    const error: unknown = rejected[0]!.reason;
    assert.ok(error instanceof WorkerLostError);
    assert.equal(error.exitCode, 5);
    const names = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    assert.equal(new Set(names).size, 2);
    assert.equal(await pool.apply(cube, [3]), 27);
    assert.equal(new Set(await meetAll(pool, 3)).size, 3);
  } finally {
    await pool.terminate();
  }
});

test('an elastic pool whose workers fail to start gives up after three, with the initializer error', { ...T, ...needsSharedMemory }, async () => {
  const attempts = word();
  const pool = new Pool({ processes: 2, minProcesses: 0, initializer: failingInitCounted, initargs: [attempts] });
  try {
    assert.equal(pool.size, 0);
    await assert.rejects(pool.apply(cube, [2]), (e: Error) => e instanceof RangeError && e.message === 'no init for you');
    assert.equal(Atomics.load(attempts, 0), 3); // MAX_START_FAILURES, then no more
    await until('the failed workers have exited', () => pool.size === 0);
    await assert.rejects(pool.apply(cube, [2]), RangeError);
    assert.equal(Atomics.load(attempts, 0), 3);
  } finally {
    await pool.terminate();
  }
});

test('minProcesses and idleTimeout are checked: a RangeError or TypeError with a code, naming the fix', T, () => {
  const refused = (options: object, code: string, message: RegExp, kind: ErrorConstructor = RangeError): void => {
    assert.throws(
      () => new Pool(options),
      (e: Error & { code?: string }) => e instanceof kind && e.code === code && message.test(e.message),
      JSON.stringify(options),
    );
  };
  refused({ processes: 2, minProcesses: 3 }, 'ERR_MP_POOL_SIZE', /minProcesses must be at most processes \(2\), not 3: lower minProcesses or raise processes/);
  refused({ processes: 2, minProcesses: -1 }, 'ERR_MP_POOL_SIZE', /minProcesses must be a whole number of workers, 0 or more, not -1/);
  refused({ processes: 2, minProcesses: 1.5 }, 'ERR_MP_POOL_SIZE', /not 1\.5/);
  refused({ processes: 2, minProcesses: '1' }, 'ERR_MP_POOL_SIZE', /minProcesses must be a whole number of workers, 0 or more, not the string "1"/, TypeError);
  refused({ processes: 2, minProcesses: 0, idleTimeout: -1 }, 'ERR_MP_INVALID_TIMEOUT', /idleTimeout must be 0 or more milliseconds/);
  refused({ processes: 2, minProcesses: 0, idleTimeout: NaN }, 'ERR_MP_INVALID_TIMEOUT', /idleTimeout must be a number of milliseconds, not NaN/);
  refused({ processes: 2, minProcesses: 0, idleTimeout: '5s' }, 'ERR_MP_INVALID_TIMEOUT', /idleTimeout must be a number of milliseconds \(Infinity keeps idle workers\)/, TypeError);
});

test('without processes, a minProcesses above the default raises it', T, async () => {
  const min = cpuCount() + 1;
  const pool = new Pool({ minProcesses: min });
  try {
    assert.equal(pool.processes, min);
    assert.equal(pool.size, min);
  } finally {
    await pool.terminate();
  }
});
