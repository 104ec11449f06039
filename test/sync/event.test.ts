// Event: set/clear/isSet, timed waits, wakeups from another worker.
import { until } from '../fixtures/until.js';
import assert from 'node:assert/strict';
import { ctx, test, allTestsNeedSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { notify } from '../../src/runtime/futex.js';
import { setOnceWaiting, waitEvent } from '../fixtures/sync/targets.js';
import { assertTimed, runWorkers, timed, timedAsync } from '../fixtures/sync/run.js';

// Every test here shares memory with its children.
allTestsNeedSharedMemory();

const { Event, SharedArray } = ctx;

const T = { timeout: 60_000 };

/** Raises the shared "about to wait" word a worker polls before it sets the event. */
function sayAboutToWait(word: Int32Array): void {
  Atomics.store(word, 0, 1);
  notify(word, 0);
}

test('isSet/set/clear; wait returns the flag; timed waits within bounds', async () => {
  const ev = new Event();
  assert.equal(ev.isSet(), false);
  const [r, ms] = timed(() => ev.wait(100));
  assert.equal(r, false);
  assertTimed(ms, 100);
  const [ra, msa] = await timedAsync(() => ev.waitAsync(100));
  assert.equal(ra, false);
  assertTimed(msa, 100);
  assert.equal(ev.wait(0), false);
  ev.set();
  assert.ok(ev.isSet());
  assert.equal(ev.wait(), true);
  assert.equal(await ev.waitAsync(), true);
  ev.set();
  ev.clear();
  assert.equal(ev.isSet(), false);
  assert.equal(ev.wait(-1), false);
});

test('a worker sets the event: the main thread\'s blocking wait and async wait both wake', T, async () => {
  const ev = new Event();
  const aboutToWait = new Int32Array(sharedBuffer(4));
  const run = runWorkers(setOnceWaiting, [[ev, aboutToWait]]);
  sayAboutToWait(aboutToWait);
  assert.equal(await ev.waitAsync(20_000), true);
  assert.deepEqual(await run, [0]);
  ev.clear();
  const aboutToWaitAgain = new Int32Array(sharedBuffer(4));
  const run2 = runWorkers(setOnceWaiting, [[ev, aboutToWaitAgain]]);
  sayAboutToWait(aboutToWaitAgain);
  // Blocks the main thread; the worker needs nothing from it.
  assert.equal(ev.wait(20_000), true);
  assert.deepEqual(await run2, [0]);
});

test('workers waiting on an event wake when the main thread sets it, or time out', T, async () => {
  const ev = new Event();
  const outs = [new SharedArray('i', 1), new SharedArray('i', 1), new SharedArray('i', 1)];
  const run = runWorkers(waitEvent, outs.map((out) => [ev, out, 20_000]));
  await until('every worker is about to wait', () => outs.every((o) => Atomics.load(o, 0) === 2));
  ev.set();
  assert.deepEqual(await run, [0, 0, 0]);
  assert.deepEqual(outs.map((o) => o[0]), [1, 1, 1]);
  const late = new SharedArray('i', [7]);
  assert.deepEqual(await runWorkers(waitEvent, [[new Event(), late, 50]]), [0]);
  assert.equal(late[0], 0);
});
