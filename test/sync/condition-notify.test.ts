// Condition.notify(n) wakes at most n waiters, only ones waiting at that moment, and wait() returns
// true only for those (issue 10). The waiters' own counters (under the lock) show who woke.
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { boundedBufferSide, condWaiter, REGISTERED, STOP, TIMED_OUT, WOKEN } from '../fixtures/sync/targets.js';
import { until } from '../fixtures/until.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Condition, Lock, Process } = ctx;

const T = { timeout: 180_000 };

const shared = (words: number) => new Int32Array(sharedBuffer(words * 4));

/**
 * Spins until `ok()`, for at most 20 s: `until` of `fixtures/until.ts` without its sleeps, because the
 * point here is to notify the moment the last waiter lets go of the lock.
 */
function spinUntil(ok: () => boolean, what: string): void {
  const deadline = performance.now() + 20_000;
  while (!ok()) if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
}

/**
 * Starts `waiters` processes looping in `condWaiter`, then for each `n` of `plan`: waits until all of
 * them wait, notifies `n` (Infinity: all) and checks that exactly that many woke, never more.
 */
async function notifyRounds(waiters: number, plan: number[], async: boolean): Promise<void> {
  const cond = new Condition(new Lock());
  const stats = shared(4);
  const inWait = () => Atomics.load(stats, REGISTERED) - Atomics.load(stats, WOKEN) - Atomics.load(stats, TIMED_OUT);
  const ps = Array.from({ length: waiters }, () => new Process({ target: condWaiter, args: [cond, stats, 60_000, async] }));
  for (const p of ps) p.start();
  let expected = 0;
  try {
    for (const n of plan) {
      // Try-lock in a spin, so the notify lands as soon as the last waiter lets go of the lock: often
      // before it is asleep (the moment the old design woke it on top of the one notified).
      spinUntil(() => inWait() === waiters && cond.acquire(false), `${waiters} wait (round ${expected})`);
      const woke = cond.notify(n);
      cond.release();
      assert.equal(woke, Math.min(n, waiters), `notify(${n}) with ${waiters} waiting`);
      expected += woke;
      spinUntil(() => Atomics.load(stats, WOKEN) >= expected, `${expected} woke`);
      assert.equal(Atomics.load(stats, WOKEN), expected, `more waiters woke than notify(${n}) woke`);
    }
    spinUntil(() => inWait() === waiters, 'all wait again');
    assert.equal(Atomics.load(stats, WOKEN), expected, 'a waiter woke without a notify');
  } finally {
    Atomics.store(stats, STOP, 1);
    cond.acquire();
    expected += cond.notifyAll();
    cond.release();
    for (const p of ps) await p.join(30_000);
  }
  for (const p of ps) assert.equal(p.exitCode, 0);
  assert.equal(Atomics.load(stats, TIMED_OUT), 0);
  assert.equal(Atomics.load(stats, WOKEN), expected);
}

test('two children in wait() and one notify() wake exactly one, 1,000 rounds', T, async () => {
  await notifyRounds(2, Array.from({ length: 1_000 }, () => 1), false);
});

test('the same with waitAsync() in the children, 500 rounds', T, async () => {
  await notifyRounds(2, Array.from({ length: 500 }, () => 1), true);
});

test('notify(2) of 5 waiters wakes exactly 2; notifyAll wakes all 5', T, async () => {
  await notifyRounds(5, [2, 2, 5, Infinity, 1, 3], false);
});

test('async waiters in one thread: notify(3) of 10 wakes the 3 longest waiting; notifyAll the rest', T, async () => {
  const cond = new Condition(new Lock()); // a Lock: an RLock would count this thread's tasks as one owner
  const results: (boolean | undefined)[] = new Array(10).fill(undefined);
  const order: number[] = []; // in which order they started waiting (under the lock)
  const waiters = results.map(async (_, k) => {
    await cond.acquireAsync();
    try {
      order.push(k);
      results[k] = await cond.waitAsync(30_000);
    } finally {
      cond.release();
    }
  });
  // Each waiter lets go of the lock only inside waitAsync: once all ten are counted and the lock is
  // free, all ten wait.
  await until('10 waiters wait', () => order.length === 10 && !cond.locked());
  cond.acquire();
  assert.equal(cond.notify(3), 3);
  cond.release();
  await until('3 waiters return', () => results.filter((r) => r !== undefined).length >= 3);
  const woken = results.flatMap((r, k) => (r === undefined ? [] : [k]));
  assert.deepEqual(woken, order.slice(0, 3).sort((a, b) => a - b), 'not the 3 longest waiting');
  assert.ok(woken.every((k) => results[k] === true));
  cond.acquire();
  assert.equal(cond.notifyAll(), 7);
  cond.release();
  await Promise.all(waiters);
  assert.deepEqual(results, new Array(10).fill(true));
});

test('timeouts racing notifies: every notify that woke someone is one true return, never more', T, async () => {
  const cond = new Condition(new Lock());
  const stats = shared(4);
  // Waits of 1 ms: most of them end by timeout, often just as a notify picks them.
  const ps = [new Process({ target: condWaiter, args: [cond, stats, 1] }), new Process({ target: condWaiter, args: [cond, stats, 1, true] })];
  for (const p of ps) p.start();
  let woke = 0;
  const deadline = performance.now() + 60_000;
  while (Atomics.load(stats, REGISTERED) < 3_000 && performance.now() < deadline) {
    cond.acquire();
    woke += cond.notify();
    cond.release();
  }
  Atomics.store(stats, STOP, 1);
  cond.acquire();
  woke += cond.notifyAll();
  cond.release();
  for (const p of ps) await p.join(30_000);
  for (const p of ps) assert.equal(p.exitCode, 0);
  assert.equal(Atomics.load(stats, WOKEN), woke, 'wait() returned true a different number of times than notify woke');
  assert.equal(Atomics.load(stats, WOKEN) + Atomics.load(stats, TIMED_OUT), Atomics.load(stats, REGISTERED));
});

test('a bounded buffer on two conditions over one lock: 2 producers, 3 consumers, exact counts', T, async () => {
  const lock = new Lock();
  const notFull = new Condition(lock);
  const notEmpty = new Condition(lock);
  const state = shared(4); // held, produced, consumed, failures
  const capacity = 3;
  const sides = [
    [1, 3_000, false],
    [1, 3_000, true],
    [-1, 2_000, false],
    [-1, 2_000, true],
    [-1, 2_000, false],
  ] as const;
  const ps = sides.map(
    ([delta, n, async]) => new Process({ target: boundedBufferSide, args: [notFull, notEmpty, state, capacity, delta, n, async] }),
  );
  for (const p of ps) p.start();
  for (const p of ps) await p.join(120_000);
  for (const p of ps) assert.equal(p.exitCode, 0);
  assert.deepEqual([...state], [0, 6_000, 6_000, 0]);
});

test('254 waiters at once; the next wait rejects with ERR_MP_CONDITION_WAITERS and the condition goes on', T, async () => {
  const cond = new Condition(new Lock());
  let waiting = 0;
  const waiters = Array.from({ length: 254 }, async () => {
    await cond.acquireAsync();
    try {
      waiting++;
      return await cond.waitAsync(30_000);
    } finally {
      cond.release();
    }
  });
  await until('254 wait', () => waiting === 254 && !cond.locked());
  cond.acquire();
  await assert.rejects(cond.waitAsync(10), (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_CONDITION_WAITERS');
  assert.ok(cond.lock.locked(), 'the refused wait let go of the lock');
  assert.equal(cond.notifyAll(), 254);
  cond.release();
  assert.deepEqual(new Set(await Promise.all(waiters)), new Set([true]));
});
