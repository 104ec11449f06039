// Locks whose holder died (issue 10): a worker terminated while it holds a Lock, an RLock (a Value's own
// lock), a Semaphore unit, leaves it to the next acquirer, which can tell (`ownerDied`), as POSIX
// robust mutexes report EOWNERDEAD. Python leaves such a lock held forever.
import assert from 'node:assert/strict';
import type * as mp from '../../src/index.js';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';
import { acquireAndReport, holdForever, holdThroughChild, holdValueLock, incrementOrDie, ready } from '../fixtures/sync/dying.js';
import { within } from '../fixtures/until.js';
import { until } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { BoundedSemaphore, Lock, Pool, Process, RLock, RawArray, RawValue, Semaphore, Value } = ctx;

const T = { timeout: 60_000 };

/** Starts `target(...args)` in a worker and resolves once it has set `flag`. */
async function startHolder(target: Function, args: unknown[], flag: mp.RawValue<'i'>): Promise<mp.Process> {
  const p = new Process({ target: target as (...a: unknown[]) => unknown, args });
  p.start();
  await until('the worker holds the lock', () => flag.value !== 0 || p.exitCode !== null, 30_000);
  assert.equal(p.exitCode, null, 'the holder is still running');
  return p;
}

for (const Kind of [Lock, RLock]) {
  test(`${Kind.name}: terminated holder; the main thread takes the lock over and sees ownerDied once`, T, async () => {
    const lock = new Kind();
    const flag = new RawValue('i', 0);
    const p = await startHolder(holdForever, [lock, flag], flag);
    assert.equal(lock.acquire(false), false, 'held by a live worker');
    assert.equal(lock.ownerDied, false);
    p.terminate();
    await p.join();
    assert.equal(lock.acquire(true, 10_000), true);
    assert.equal(lock.ownerDied, true);
    lock.release();
    assert.equal(lock.locked(), false, 'one release frees it (an RLock restarts at depth 1)');
    assert.equal(lock.acquire(false), true);
    assert.equal(lock.ownerDied, false, 'the flag describes the last acquire only');
    lock.release();
  });

  test(`${Kind.name}: another worker already waiting takes it over when the holder is killed`, T, async () => {
    const lock = new Kind();
    const flag = new RawValue('i', 0);
    const out = new RawArray('i', 3);
    const holder = await startHolder(holdForever, [lock, flag], flag);
    const waiter = new Process({ target: acquireAndReport, args: [lock, out, 20_000] });
    waiter.start();
    holder.kill();
    await holder.join();
    await waiter.join();
    assert.deepEqual([...out], [1, 1, 1], 'acquired, saw ownerDied, finished');
    assert.equal(waiter.exitCode, 0);
    assert.equal(lock.locked(), false);
  });
}

test('a grandchild holding a Lock ends with its terminated parent, which cannot report it: the lock is recovered', T, async () => {
  const lock = new Lock();
  const flag = new RawValue('i', 0);
  const parent = await startHolder(holdThroughChild, [lock, flag], flag);
  parent.terminate();
  await parent.join();
  assert.equal(await lock.acquireAsync(10_000), true);
  assert.equal(lock.ownerDied, true);
  lock.release();
});

test('a Value whose lock was held (twice, nested) by a terminated worker: acquireAsync recovers it; exact value', T, async () => {
  const counter = new Value('i', 0);
  const flag = new RawValue('i', 0);
  const p = await startHolder(holdValueLock, [counter, flag], flag);
  p.terminate();
  // No join: acquireAsync leaves the event loop free, so the exit is seen while it waits.
  assert.equal(await counter.getLock().acquireAsync(10_000), true);
  assert.equal((counter.getLock() as mp.RLock).ownerDied, true);
  counter.value += 1;
  counter.getLock().release();
  assert.equal(counter.getLock().locked(), false);
  assert.equal(counter.value, 2);
});

test('a pool task stopped by its signal while holding a Lock: the lock is recovered', T, async () => {
  const lock = new Lock();
  const flag = new RawValue('i', 0);
  const pool = new Pool(1);
  try {
    const stop = new AbortController();
    const task = pool.apply(holdForever, [lock, flag], { signal: stop.signal });
    task.catch(() => {});
    await until('the task holds the lock', () => flag.value === 1, 30_000);
    stop.abort();
    await assert.rejects(task);
    assert.equal(await lock.acquireAsync(10_000), true);
    assert.equal(lock.ownerDied, true);
    lock.release();
  } finally {
    await pool.terminate();
  }
});

test('a pool task stopped by its timeout while holding an RLock: the lock is recovered', T, async () => {
  const lock = new RLock();
  const flag = new RawValue('i', 0);
  const pool = new Pool(1);
  try {
    // The worker is up and has imported the fixtures before the timed task starts its clock.
    assert.equal(await pool.apply(ready), 1);
    const task = pool.apply(holdForever, [lock, flag], { timeout: 2_000 });
    await assert.rejects(task);
    assert.equal(flag.value, 1, 'the task held the lock when it was stopped');
    assert.equal(await lock.acquireAsync(10_000), true);
    assert.equal(lock.ownerDied, true);
    lock.release();
  } finally {
    await pool.terminate();
  }
});

test('N workers increment under a Lock, one is killed holding it mid-way: exact count, the lock still excludes', T, async () => {
  for (const Kind of [Lock, RLock]) {
    const lock = new Kind();
    const counter = new RawValue('i', 0);
    const flag = new RawValue('i', 0);
    const recovered = new RawValue('i', 0);
    const n = 20_000;
    const stopAt = 500;
    const victim = new Process({ target: incrementOrDie, args: [counter, lock, n, stopAt, flag, recovered] });
    victim.start();
    await until('the victim holds the lock', () => flag.value === 1, 30_000);
    const others = [0, 1, 2].map(() => new Process({ target: incrementOrDie, args: [counter, lock, n, -1, flag, recovered] }));
    for (const p of others) p.start();
    victim.terminate();
    await victim.join();
    for (const p of others) await p.join();
    assert.deepEqual(others.map((p) => p.exitCode), [0, 0, 0]);
    assert.equal(counter.value, 3 * n + stopAt, `${Kind.name}: every increment counted once`);
    assert.equal(recovered.value, 1, `${Kind.name}: exactly one acquirer took the lock over`);
    assert.equal(lock.locked(), false);
  }
});

test('Semaphore: units held by a terminated worker come back, never past the initial value', T, async () => {
  for (const Kind of [Semaphore, BoundedSemaphore]) {
    const sem = new Kind(3);
    const flag = new RawValue('i', 0);
    const p = await startHolder(holdForever, [sem, flag, 2], flag);
    assert.equal(sem.acquire(), true);
    assert.equal(sem.ownerDied, false);
    assert.equal(sem.getValue(), 0);
    p.terminate();
    await p.join();
    assert.equal(sem.acquire(true, 10_000), true, 'a unit of the dead holder');
    assert.equal(sem.ownerDied, true);
    assert.equal(sem.getValue(), 1, 'both of its units came back');
    assert.equal(sem.acquire(false), true);
    assert.equal(sem.ownerDied, false);
    assert.equal(sem.acquire(false), false, 'no more than the initial value');
    for (let i = 0; i < 3; i++) sem.release();
    assert.equal(sem.getValue(), 3);
  }
});

test('Semaphore used as a signal: a consumer that dies returns nothing it consumed', T, async () => {
  const sem = new Semaphore(0);
  const flag = new RawValue('i', 0);
  sem.release();
  const p = await startHolder(holdForever, [sem, flag], flag);
  p.terminate();
  await p.join();
  assert.equal(sem.acquire(true, 200), false);
  assert.equal(sem.getValue(), 0);
});

test('Lock, RLock, Semaphore: an acquireAsync aborted while a live worker holds it rejects with the reason and takes nothing; the dead holder is then taken over', T, async () => {
  for (const lock of [new Lock(), new RLock(), new Semaphore(1)]) {
    const name = lock.constructor.name;
    const flag = new RawValue('i', 0);
    const p = await startHolder(holdForever, [lock, flag], flag);
    // 300 ms spans several of the wait's slices (its holder is another process): the abort lands in a sleep.
    const aborted = lock.acquireAsync({ signal: AbortSignal.timeout(300) });
    await assert.rejects(within(aborted, `${name}: an aborted acquireAsync`, 20_000), { name: 'TimeoutError' });
    assert.equal(lock.acquire(false), false, `${name}: the aborted wait took nothing`);
    p.terminate();
    await p.join();
    assert.equal(await within(lock.acquireAsync({ timeout: 10_000, signal: new AbortController().signal }), name, 20_000), true);
    assert.equal(lock.ownerDied, true, `${name}: taken over from the dead holder`);
    lock.release();
  }
});
