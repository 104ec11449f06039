/**
 * The one place that calls `Atomics.wait`, `Atomics.waitAsync` and `Atomics.notify` (and the addon's
 * `futex(2)` for process-shared memory); and `sleepOn`, the
 * wait loop of every primitive that waits for a word to change (`sleepOnAsync` is its twin that does
 * not block the event loop; only the mutex of `mutex.ts` keeps a loop of its own, a compare-and-swap
 * loop).
 *
 * Every primitive of this library is a few `Int32Array` words in a `SharedArrayBuffer`; this module
 * turns "sleep while word == expected" and "wake sleepers on word" into calls that work the same in a
 * worker and on Node's main thread, with timeouts in milliseconds.
 *
 * Async waits and the program's life: a pending `Atomics.waitAsync` does not keep Node's event loop
 * alive, and that is what we want for a wait with no deadline. Whoever could end it (a running
 * `Process`, a busy pool worker, a timer of this thread; in a child, the parent, for which the child's
 * running target keeps it alive) keeps the program alive by itself; a wait that
 * nothing can end must not hang the program (`await Promise.race([q.getAsync(), sleep(200)])` at the
 * end of a script). A wait with a deadline is a timer, as `setTimeout` is: it keeps the program alive
 * until it settles, so `await lock.acquireAsync(100)` at the end of a script still returns its `false`.
 *
 * Cancelling: V8 cannot take a pending `waitAsync` back. Left in the word's wait list, an abandoned
 * waiter would absorb a later `notify(…, 1)` meant for a live one (a lost wakeup), so an aborted wait
 * wakes every waiter of its word, which removes it; the others re-check their condition and sleep
 * again, as after any spurious wakeup (every caller of this module loops on its condition). The addon
 * can take its waits back (`futexWaitCancel`): an aborted wait on process-shared memory is removed
 * there, and stops keeping the program alive at once, even if its kernel wait has not started yet.
 *
 * Slices: a waiter that must also notice something no wake-up announces (another process that died,
 * see `runtime/liveness.ts`) passes a `slice`, the longest it sleeps before it checks again. A slice is
 * a timeout, so it keeps the program alive: slice only while such a process is involved (it keeps the
 * program alive anyway while it lives, and its death is what the next slice must get to see).
 *
 * Two backends, chosen per buffer: memory of the `'process'` allocator (`process/segments.ts`) waits and
 * wakes through the native addon's `futex(2)`, because V8's wait lists live in one process, and a
 * `futex(2)` waiter and an `Atomics.wait` waiter do not even wake each other within one process (measured:
 * research/process-start-method.md §2.1). So the choice follows the buffer, not the start method: a
 * thread of a process child waits on process-shared words through the addon too. All other memory keeps
 * `Atomics`, at the cost of one `WeakMap` lookup per call. The addon's async wait keeps the program
 * alive exactly when asked (`keepAlive`), so it needs no timer of ours. What the primitives' wait
 * arguments mean (`{ timeout, signal }`) is `sync/wait-options.ts`.
 */
import { whenAborted } from '../abort.js';
import { allocateShared } from './shared-memory.js';
import { loadNative, type NativeAddon } from './process/native.js';
import { isProcessShared } from './process/segments.js';

/** The addon, for a buffer of the process allocator (which exists only when the addon loaded). */
function futexOf(words: Int32Array): NativeAddon | undefined {
  return isProcessShared(words) ? loadNative().native : undefined;
}

/** What a wait ended with, as `Atomics.wait` reports it. */
export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Blocks the calling thread while `words[index] === expected`, for at most `timeout` ms. */
export function wait(words: Int32Array, index: number, expected: number, timeout: number = Infinity): WaitResult {
  const futex = futexOf(words);
  return futex === undefined ? Atomics.wait(words, index, expected, timeout) : futex.futexWait(words, index, expected, timeout);
}

/** Sleeps the calling thread for `ms` milliseconds (a wait on a word nobody changes). */
export function pause(ms: number): void {
  pauseWord ??= new Int32Array(allocateShared(4, { startMethod: 'thread' })); // nobody else sees it
  Atomics.wait(pauseWord, 0, 0, ms);
}
let pauseWord: Int32Array | undefined;

/** Wakes up to `count` threads sleeping on `words[index]`; returns how many woke. */
export function notify(words: Int32Array, index: number, count: number = Infinity): number {
  const futex = futexOf(words);
  if (futex === undefined) return Atomics.notify(words, index, count);
  // The word has changed already: a wait of this thread on it has its wake-up coming.
  holdWhileWakeInFlight(false);
  return count === Infinity ? futex.futexWake(words, index) : futex.futexWake(words, index, count);
}

// Waits with a deadline keep the program alive (see the module notes): one ref'd timer, held while any
// of them is pending. V8 resolves their timeouts from an unref'd timer of its own, which this one keeps
// the loop running for.
let pendingTimedWaits = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdLoop(): void {
  if (pendingTimedWaits++ === 0) keepAlive = setInterval(() => {}, 1 << 30);
}

function releaseLoop(): void {
  if (--pendingTimedWaits === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Waits without blocking the event loop while `words[index] === expected`, for at most `timeout` ms.
 * With no deadline, the wait alone does not keep the program alive; with one, it does until it
 * settles. An abort of `signal` rejects with `signal.reason` and removes the wait (see the module notes).
 */
export function waitAsync(
  words: Int32Array,
  index: number,
  expected: number,
  timeout: number = Infinity,
  signal?: AbortSignal,
): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const futex = futexOf(words);
  if (futex !== undefined) return futexWaitAsync(futex, words, index, expected, timeout, signal);
  const result = Atomics.waitAsync(words, index, expected, timeout);
  if (!result.async) return Promise.resolve(result.value);
  const timed = timeout !== Infinity;
  if (!timed && signal === undefined) return result.value;
  return new Promise<WaitResult>((resolve, reject) => {
    let pending = true;
    const settle = (): void => {
      pending = false;
      if (timed) releaseLoop();
      stopListening?.();
    };
    const onAbort = (): void => {
      if (!pending) return;
      settle();
      Atomics.notify(words, index);
      reject(signal?.reason);
    };
    if (timed) holdLoop();
    const stopListening = signal === undefined ? undefined : whenAborted(signal, onAbort);
    void result.value.then((value) => {
      if (!pending) return;
      settle();
      resolve(value);
    });
  });
}

// A wake-up in flight. The addon delivers a wake-up through a helper thread, which the kernel may run
// some time after the waker's `futexWake` returned, and a wait with no deadline does not keep the
// program alive (see the module notes). So the event loop could run dry in that gap, and the program end
// with the woken task never resumed: a thread waking its own waiters (ten tasks of one thread queued on
// a Lock, each releasing it to the next), or a pool worker process that put an item for the program's
// `getAsync()` and then returned its result, which left the pool idle. Every waker changes the word
// before it wakes (see `sleepOn`), so a pending wait whose word no longer holds what it waits on has a
// wake-up coming. While one has, the loop is held, a millisecond at a time, until it arrives: from the
// moment this thread wakes a word while it has waits pending, and from the moment the loop runs dry
// (`beforeExit`: a wake-up from another process). The hold is bounded (`WAKE_IN_FLIGHT_HOLD_MS`): the
// kernel may give a wake-up of one to another process's waiter instead, and then this thread's waiter
// stays asleep on purpose, for whoever wakes it next, as it would without the hold; the loop running dry
// again with the same waits pending then starts no new hold.
const WAKE_IN_FLIGHT_HOLD_MS = 1_000;

interface ProcessSharedWait {
  readonly words: Int32Array;
  readonly index: number;
  readonly expected: number;
}

/** This thread's pending process-shared async waits. */
const processSharedWaits = new Set<ProcessSharedWait>();
let hold: { until: number; timer: ReturnType<typeof setTimeout> } | undefined;
let listening = false;
// Bumped whenever a process-shared wait is added or ends: a hold that the loop running dry started, and
// that ran out with no wait ending, is not started again for the same waits (else `beforeExit` would
// hold the loop forever for a wake-up that went elsewhere).
let waitsChanged = 0;
let heldDryFor = -1;

function wakeInFlight(): boolean {
  for (const { words, index, expected } of processSharedWaits) if (Atomics.load(words, index) !== expected) return true;
  return false;
}

/**
 * Holds the loop while a pending wait has a wake-up coming (see above), for at most
 * `WAKE_IN_FLIGHT_HOLD_MS` from now: a new wake-up extends a hold. `check`: first see if one has.
 */
function holdWhileWakeInFlight(check: boolean): void {
  if (processSharedWaits.size === 0 || (check && !wakeInFlight())) return;
  const until = performance.now() + WAKE_IN_FLIGHT_HOLD_MS;
  if (hold !== undefined) {
    hold.until = until;
    return;
  }
  const tick = (): void => {
    if (hold !== undefined && performance.now() < hold.until && wakeInFlight()) hold.timer = setTimeout(tick, 1);
    else hold = undefined;
  };
  hold = { until, timer: setTimeout(tick, 1) };
}

function onLoopDry(): void {
  if (heldDryFor === waitsChanged) return;
  heldDryFor = waitsChanged;
  holdWhileWakeInFlight(true);
}

/** Tracks `wait` while it is pending; returns what stops tracking it early (a cancelled wait). */
function trackProcessSharedWait(wait: ProcessSharedWait, pending: Promise<WaitResult>): () => void {
  if (!listening) {
    listening = true;
    process.on('beforeExit', onLoopDry);
  }
  processSharedWaits.add(wait);
  waitsChanged++;
  const untrack = (): void => {
    if (processSharedWaits.delete(wait)) waitsChanged++;
  };
  void pending.finally(untrack);
  return untrack;
}

/** `waitAsync` on process-shared memory: the addon's pooled async wait; an abort cancels it there. */
function futexWaitAsync(
  futex: NativeAddon,
  words: Int32Array,
  index: number,
  expected: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<WaitResult> {
  const pending = futex.futexWaitAsync(words, index, expected, timeout, timeout !== Infinity);
  const untrack = trackProcessSharedWait({ words, index, expected }, pending);
  if (signal === undefined) return pending;
  return new Promise<WaitResult>((resolve, reject) => {
    let settled = false;
    const stopListening = whenAborted(signal, () => {
      if (settled) return;
      settled = true;
      // The addon forgets the wait: it stops keeping the program alive, and its promise never settles.
      futex.futexWaitCancel(pending);
      untrack();
      reject(signal.reason);
    });
    void pending.then((value) => {
      if (settled) return;
      settled = true;
      stopListening();
      resolve(value);
    });
  });
}

/** For `sleepOn`'s `sleepers`: nobody counts the sleepers. */
export const UNCOUNTED = -1;

/** For `sleepOn`'s `slice`: each sleep lasts until a wake-up or the deadline. */
const WHOLE = (): number => Infinity;

/** For `sleepOn`'s `idle`: the word is a sequence, or a flag that never returns to what was read. */
const CHANGES_ONCE = undefined;

/**
 * Blocks until `ready()` returns true (then returns true) or `deadline` (a `performance.now()` value,
 * `Infinity`: none) passes (then false). The wait loop of every primitive whose waiters wait for a word
 * to change: each round reads `words[index]`, then checks `ready()`, then sleeps only while the word
 * still holds what it read. Whoever makes `ready()` true changes that word afterwards (a flag, a
 * counter, a sequence it bumps) and notifies, so a change that lands between the check and the sleep
 * ends the sleep at once: no lost wakeup. With `sleepers`, `words[sleepers]` counts this thread while it
 * may sleep, so that the waker can skip `notify` when it reads 0 (sequentially consistent on both sides).
 *
 * `ready()` may take what it finds (a semaphore's unit): it is called only where a true return ends
 * the wait. `slice()`, asked before each sleep, bounds it, for a `ready()` that can turn true without
 * a wake-up (see the module notes).
 *
 * A word that can come back to what was read (a semaphore's value: taken 1 → 0 and given back 0 → 1
 * between this thread's read and its sleep, the wake-up sent while it was not yet asleep) would leave it
 * asleep on a free semaphore. Such a word passes `idle`, the one value at which `ready()` cannot
 * succeed: the sleep is then on that value, not on what was read.
 */
export function sleepOn(
  words: Int32Array,
  index: number,
  ready: () => boolean,
  deadline: number,
  sleepers: number = UNCOUNTED,
  slice: () => number = WHOLE,
  idle: number | undefined = CHANGES_ONCE,
): boolean {
  if (sleepers !== UNCOUNTED) Atomics.add(words, sleepers, 1);
  try {
    for (;;) {
      const seen = idle ?? Atomics.load(words, index);
      if (ready()) return true;
      const left = remaining(deadline);
      if (left <= 0) return false;
      wait(words, index, seen, Math.min(left, slice()));
    }
  } finally {
    if (sleepers !== UNCOUNTED) Atomics.sub(words, sleepers, 1);
  }
}

/** `sleepOn` without blocking the event loop; an abort of `signal` rejects with its reason. */
export async function sleepOnAsync(
  words: Int32Array,
  index: number,
  ready: () => boolean,
  deadline: number,
  signal: AbortSignal | undefined,
  sleepers: number = UNCOUNTED,
  slice: () => number = WHOLE,
  idle: number | undefined = CHANGES_ONCE,
): Promise<boolean> {
  if (sleepers !== UNCOUNTED) Atomics.add(words, sleepers, 1);
  try {
    for (;;) {
      const seen = idle ?? Atomics.load(words, index);
      if (ready()) return true;
      const left = remaining(deadline);
      if (left <= 0) return false;
      await waitAsync(words, index, seen, Math.min(left, slice()), signal);
    }
  } finally {
    if (sleepers !== UNCOUNTED) Atomics.sub(words, sleepers, 1);
  }
}

/**
 * Milliseconds left until `deadline` (a `performance.now()` value), for loops that wait several times
 * under one overall timeout. `Infinity` stays `Infinity`.
 */
export function remaining(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  const left = deadline - performance.now();
  return left > 0 ? left : 0;
}

/** The `performance.now()` value at which a wait of `timeout` ms (already normalised) must end. */
export function deadlineAfter(timeout: number): number {
  return timeout === Infinity ? Infinity : performance.now() + timeout;
}
