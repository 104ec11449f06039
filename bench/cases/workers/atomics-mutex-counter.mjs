/**
 * W3 reference: the hand-written lock a user could write without this
 * library — a three-state futex mutex (0 unlocked, 1 locked, 2 locked with
 * waiters; Drepper, "Futexes Are Tricky") over raw Atomics — guarding
 * increments of one shared int32.
 */
import { workerData } from 'node:worker_threads';
import { arriveAndWaitForStart, signalFinished } from '../lib/gate.mjs';

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

/** @param {Int32Array} word */
function lock(word) {
  let state = Atomics.compareExchange(word, 0, UNLOCKED, LOCKED);
  if (state === UNLOCKED) return;
  if (state !== CONTENDED) state = Atomics.exchange(word, 0, CONTENDED);
  while (state !== UNLOCKED) {
    Atomics.wait(word, 0, CONTENDED);
    state = Atomics.exchange(word, 0, CONTENDED);
  }
}

/** @param {Int32Array} word */
function unlock(word) {
  if (Atomics.sub(word, 0, 1) !== LOCKED) {
    Atomics.store(word, 0, UNLOCKED);
    Atomics.notify(word, 0, 1);
  }
}

const { lockWord, counter, gate, increments } = workerData;
arriveAndWaitForStart(gate);
for (let i = 0; i < increments; i++) {
  lock(lockWord);
  counter[0] += 1; // a plain read-modify-write: only the lock makes it exact
  unlock(lockWord);
}
signalFinished(gate);
