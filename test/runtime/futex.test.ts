// runtime/futex.ts's wait loop (`sleepOn`), below the primitives that use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadlineAfter, sleepOn, sleepOnAsync, UNCOUNTED } from '../../src/runtime/futex.js';

const WHOLE = (): number => Infinity;

/**
 * A `ready()` that fails once with the word unchanged, as an acquirer does whose compare-and-swap lost
 * a semaphore's unit to a thread that then gave it back, all before this one sleeps (the give-back's
 * wake-up found nobody asleep). Then it succeeds.
 */
function failsOnceWithTheWordBack(): () => boolean {
  let calls = 0;
  return () => ++calls > 1;
}

test('a word that came back to what was read: sleepOn with `idle` sleeps on the idle value, so it does not sleep at all', async () => {
  const words = new Int32Array(new SharedArrayBuffer(8));
  words[0] = 1; // a free semaphore
  const started = performance.now();
  assert.equal(sleepOn(words, 0, failsOnceWithTheWordBack(), deadlineAfter(20_000), UNCOUNTED, WHOLE, 0), true);
  assert.equal(await sleepOnAsync(words, 0, failsOnceWithTheWordBack(), deadlineAfter(20_000), undefined, UNCOUNTED, WHOLE, 0), true);
  // Well under the deadline: a sleep on the value read (1) would have lasted until it.
  assert.ok(performance.now() - started < 10_000);
  // Without `idle`, the loop sleeps on what it read: the lost wake-up, until the (short) deadline.
  const before = performance.now();
  sleepOn(words, 0, failsOnceWithTheWordBack(), deadlineAfter(50));
  assert.ok(performance.now() - before >= 45, 'slept until the deadline');
});
