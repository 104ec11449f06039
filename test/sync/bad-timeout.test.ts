// A bad timeout (NaN, a string) is refused by every wait, also when the wait would succeed at once: a
// free Lock, RLock or Semaphore took the fast path before it looked at the timeout, so
// `acquire(true, NaN)` returned true there and threw only when it had to wait (found by a break-it trial).
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory } from '../fixtures/context.js';

// Every test here makes shared objects of the start method under test.
allTestsNeedSharedMemory();

const { Barrier, BoundedSemaphore, Condition, Event, JoinableQueue, Lock, Pipe, Queue, RLock, Semaphore } = ctx;

const isNaNTimeout = (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_INVALID_TIMEOUT' && /not NaN$/.test(e.message);
const isWrongType = (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_TIMEOUT';
const BAD: readonly [unknown, (e: Error & { code?: string }) => boolean][] = [
  [Number.NaN, isNaNTimeout],
  ['100', isWrongType],
];

test('acquire(true, bad) on a free Lock, RLock, Semaphore or BoundedSemaphore throws and takes nothing', async () => {
  for (const [timeout, is] of BAD) {
    for (const lock of [new Lock(), new RLock(), new Semaphore(1), new BoundedSemaphore(1), new Condition()]) {
      const name = `${lock.constructor.name}.acquire(true, ${String(timeout)})`;
      assert.throws(() => lock.acquire(true, timeout as number), is, name);
      assert.throws(() => lock.guard(timeout as number), is, `${lock.constructor.name}.guard`);
      await assert.rejects(lock.acquireAsync(timeout as number), is, `${lock.constructor.name}.acquireAsync`);
      // Nothing was taken: a non-blocking acquire gets it, and a release gives it back.
      assert.equal(lock.acquire(false), true, `${name} took it`);
      lock.release();
    }
  }
});

test('an RLock held by this thread refuses a bad timeout on its recursive path too', () => {
  const lock = new RLock();
  lock.acquire();
  assert.throws(() => lock.acquire(true, Number.NaN), isNaNTimeout);
  lock.release();
  assert.equal(lock.acquire(false), true, 'no level was added by the refused acquire');
  lock.release();
});

test('acquire(false, bad) ignores the timeout, as Python does for a non-blocking acquire', () => {
  for (const lock of [new Lock(), new RLock(), new Semaphore(1)]) {
    assert.equal(lock.acquire(false, Number.NaN), true, lock.constructor.name);
    lock.release();
  }
});

test('waits that would end at once refuse a bad timeout: a set Event, a true predicate, a one-party Barrier', async () => {
  for (const [timeout, is] of BAD) {
    const t = timeout as number;
    const event = new Event();
    event.set();
    assert.throws(() => event.wait(t), is, 'Event.wait');
    await assert.rejects(event.waitAsync(t), is, 'Event.waitAsync');
    const cond = new Condition();
    cond.acquire();
    let asked = 0;
    assert.throws(() => cond.waitFor(() => ++asked, t), is, 'Condition.waitFor');
    assert.equal(asked, 0, 'refused before the predicate runs');
    assert.throws(() => cond.wait(t), is, 'Condition.wait');
    await assert.rejects(cond.waitForAsync(() => true, t), is, 'Condition.waitForAsync');
    cond.release();
    const barrier = new Barrier(1);
    assert.throws(() => barrier.wait(t), is, 'Barrier.wait');
    await assert.rejects(barrier.waitAsync(t), is, 'Barrier.waitAsync');
    assert.equal(barrier.broken, false);
  }
});

test('queue and pipe waits that would end at once refuse a bad timeout, and take or put nothing', async () => {
  for (const [timeout, is] of BAD) {
    const t = timeout as number;
    const q = new Queue<number>();
    q.put(1);
    assert.throws(() => q.get(true, t), is, 'Queue.get');
    await assert.rejects(q.getAsync(t), is, 'Queue.getAsync');
    assert.throws(() => q.put(2, true, t), is, 'Queue.put');
    await assert.rejects(q.putAsync(2, t), is, 'Queue.putAsync');
    assert.equal(q.qsize(), 1);
    assert.equal(q.get(false), 1);
    const jq = new JoinableQueue<number>();
    assert.throws(() => jq.join(t), is, 'JoinableQueue.join');
    await assert.rejects(jq.joinAsync(t), is, 'JoinableQueue.joinAsync');
    const [a, b] = Pipe<number>();
    b.send(1);
    assert.throws(() => a.poll(t), is, 'Connection.poll');
    assert.equal(a.recv(), 1);
    a.close();
    b.close();
  }
});
