// Functions that close over top-level shared objects (README, Processes, way 3: "a `Value`, `Lock` or
// `Queue` held in a constant arrives live"): a Process target, pool tasks and a barrier's action take
// them along, and they cross as they do in arguments, under every start method. Under 'process' they
// used to be refused ("args cannot be sent to a process child"), or to crash the program from a pool's
// dispatch: the snapshot of a function's constants copied each SharedArrayBuffer into a new object,
// which the registry of process-shared memory did not know.
import assert from 'node:assert/strict';
import { ctx, madeWhereShared, test, allTestsNeedSharedMemory } from '../fixtures/context.js';

allTestsNeedSharedMemory();

const { Barrier, Lock, Pool, Process, Queue, Value } = ctx;
const T = { timeout: 60_000 };
const ROUNDS = 2_000;

// Unsynchronized on its own: only the captured lock makes the count exact.
const count = madeWhereShared(() => new Value('i', 0, { lock: false }));
const lock = madeWhereShared(() => new Lock());
const finished = madeWhereShared(() => new Queue<number>());
const rounds = madeWhereShared(() => new Value('i', 0));

/** `ROUNDS` increments of the captured count under the captured lock; then says so on the captured queue. */
function bump(me: number): number {
  for (let i = 0; i < ROUNDS; i++) {
    lock.acquire();
    count.value += 1;
    lock.release();
  }
  finished.put(me);
  return me;
}

function takeFinished(n: number): number[] {
  return Array.from({ length: n }, () => finished.get(true, 10_000)).sort();
}

async function runAll(children: InstanceType<typeof Process>[]): Promise<void> {
  for (const child of children) child.start();
  for (const child of children) await child.join(30_000);
  assert.deepEqual(
    children.map((child) => child.exitCode),
    children.map(() => 0),
  );
}

test('Process: two children increment a captured Value under a captured Lock: the exact count, reported through a captured Queue', T, async () => {
  count.value = 0;
  await runAll([new Process({ target: bump, args: [1] }), new Process({ target: bump, args: [2] })]);
  assert.equal(count.value, 2 * ROUNDS);
  assert.deepEqual(takeFinished(2), [1, 2]);
});

test('Process: a target with no arguments at all, closing over a Value, changes it in place', T, async () => {
  count.value = 0;
  await runAll([new Process({ target: () => void (count.value += 10) })]);
  assert.equal(count.value, 10);
});

test('Pool: map over 2 workers of a task closing over a Value, a Lock and a Queue gives the exact count', T, async () => {
  count.value = 0;
  await using pool = new Pool(2);
  assert.deepEqual(await pool.map(bump, [1, 2, 3, 4], 1), [1, 2, 3, 4]);
  assert.equal(count.value, 4 * ROUNDS);
  assert.deepEqual(takeFinished(4), [1, 2, 3, 4]);
});

test('Pool: apply, starmap and imap of closures over a Value and a Lock read and change them in place', T, async () => {
  count.value = 5;
  await using pool = new Pool(2);
  assert.equal(await pool.apply(() => lock.acquire(false) && (lock.release(), count.value), []), 5);
  assert.deepEqual(await pool.starmap((a: number, b: number) => count.value + a + b, [[1, 2], [3, 4]]), [8, 12]);
  const seen: number[] = [];
  for await (const v of pool.imap((x: number) => count.value * x, [1, 2, 3])) seen.push(v);
  assert.deepEqual(seen, [5, 10, 15]);
  await pool.apply(() => void (count.value = 42), []);
  assert.equal(count.value, 42);
});

const waitThrice = async (b: InstanceType<typeof Barrier>): Promise<void> => {
  for (let i = 0; i < 3; i++) await b.waitAsync(20_000);
};

test('a Barrier whose action closes over a Value, passed to a child: the action runs once per round', T, async () => {
  rounds.value = 0;
  const barrier = new Barrier(2, { action: () => void (rounds.value += 1) });
  const child = new Process({ target: waitThrice, args: [barrier] });
  child.start();
  await waitThrice(barrier);
  await child.join(30_000);
  assert.equal(child.exitCode, 0);
  assert.equal(rounds.value, 3);
});

test('a Barrier whose action closes over a Value, passed to two pool tasks: the action runs once per round', T, async () => {
  rounds.value = 0;
  await using pool = new Pool(2);
  const barrier = new Barrier(2, { action: () => void (rounds.value += 1) });
  await Promise.all([pool.apply(waitThrice, [barrier]), pool.apply(waitThrice, [barrier])]);
  assert.equal(rounds.value, 3);
});

test('a Barrier whose action closes over a Value, through a Queue to a child: the action runs once per round', T, async () => {
  rounds.value = 0;
  const barrier = new Barrier(2, { action: () => void (rounds.value += 1) });
  const handOver = new Queue<InstanceType<typeof Barrier>>();
  handOver.put(barrier);
  const child = new Process({ target: async (q: typeof handOver) => waitThrice(q.get(true, 20_000)), args: [handOver] });
  child.start();
  await waitThrice(barrier);
  await child.join(30_000);
  assert.equal(child.exitCode, 0);
  assert.equal(rounds.value, 3);
});
