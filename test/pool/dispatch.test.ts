// The local executor's dispatch policy, without a thread: which queued task goes to which worker
// (fair shares, pipelining depth, exclusive tasks, byte limits, maxTasksPerChild, FIFO order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_BYTES, Dispatcher, INFLIGHT_BYTES, cloneBytes, freshSlot, type Entry, type Slot } from '../../src/pool/dispatch.js';
import type { ScheduledTask } from '../../src/pool/executor.js';
import { TaskMode } from '../../src/pool/protocol.js';
import { ClaimCursor, Claims } from '../../src/pool/claims.js';
import type { WireFunction } from '../../src/transport/function-ref.js';

type Worker = Slot & { readonly name: string };

const cube: WireFunction = { by: 'module', module: 'file:///tasks.js', name: 'cube', source: null };

function task(data: unknown = [1], extra: Partial<ScheduledTask> = {}): ScheduledTask {
  return { fn: cube, mode: TaskMode.Apply, data, live: false, onResult() {}, onError() {}, ...extra };
}

/** A dispatcher whose sink records each message as `name:id,id` and sends all of it. */
function setup(names: string[], maxTasksPerChild: number | null = null) {
  const messages: string[] = [];
  const dispatcher: Dispatcher<Worker> = new Dispatcher<Worker>(maxTasksPerChild, (slot, batch) => {
    messages.push(`${slot.name}:${batch.map((entry) => entry.id).join(',')}`);
    dispatcher.sent(slot, batch);
  });
  const workers = names.map((name): Worker => ({ ...freshSlot(), name }));
  const enqueue = (count: number, make: () => ScheduledTask = () => task()): Entry[] =>
    Array.from({ length: count }, () => dispatcher.enqueue(make()));
  /** Answers the oldest `count` tasks `slot` holds, as a worker would. */
  const answer = (slot: Worker, count: number): void => {
    for (let i = 0; i < count; i++) dispatcher.completed(slot, slot.inflight.peek()!.id);
  };
  const round = (): string[] => {
    messages.length = 0;
    dispatcher.dispatch(workers);
    return [...messages];
  };
  return { dispatcher, workers, enqueue, answer, round };
}

/** Makes tasks look quick (0.01 ms each), so the in-flight depth is large. */
function quick(dispatcher: Dispatcher<Worker>): void {
  dispatcher.recordBusy(1, 100);
}

test('the in-flight depth: 2 until tasks are timed, about 2 ms of work when quick, at most 1024', () => {
  const { dispatcher } = setup([]);
  assert.equal(dispatcher.inflightLimit(), 2);
  dispatcher.recordBusy(0.5, 1);
  assert.equal(dispatcher.inflightLimit(), 4);
  dispatcher.recordBusy(50, 1); // average 0.7 · 0.5 + 0.3 · 50 = 15.35 ms: long tasks keep 2
  assert.equal(dispatcher.inflightLimit(), 2);
  const { dispatcher: tiny } = setup([]);
  tiny.recordBusy(0.001, 1000);
  assert.equal(tiny.inflightLimit(), 1024);
  tiny.recordBusy(0, 5); // no time measured: changes nothing
  assert.equal(tiny.inflightLimit(), 1024);
});

test('FIFO: the first tasks go to the first worker, each worker takes its depth, the rest wait', () => {
  const { dispatcher, workers, enqueue, answer, round } = setup(['a', 'b']);
  enqueue(10);
  assert.deepEqual(round(), ['a:1,2', 'b:3,4']);
  assert.equal(dispatcher.pending, 6);
  assert.equal(dispatcher.inflight, 4);
  assert.deepEqual(round(), [], 'full workers take nothing more');
  answer(workers[1]!, 2);
  assert.deepEqual(round(), ['b:5,6']);
  answer(workers[0]!, 1);
  assert.deepEqual(round(), ['a:7']);
  assert.equal(dispatcher.pending, 3);
  assert.equal(dispatcher.inflight, 4);
});

test('fair shares: quick tasks are split evenly between the workers, in order', () => {
  const even = setup(['a', 'b']);
  quick(even.dispatcher);
  even.enqueue(10);
  assert.deepEqual(even.round(), ['a:1,2,3,4,5', 'b:6,7,8,9,10']);
  const odd = setup(['a', 'b', 'c']);
  quick(odd.dispatcher);
  odd.enqueue(7);
  assert.deepEqual(odd.round(), ['a:1,2,3', 'b:4,5,6', 'c:7']);
  assert.equal(odd.dispatcher.pending, 0);
});

test('an exclusive task (timeout or signal) runs alone, and only on a worker with nothing in flight', () => {
  const { dispatcher, workers, enqueue, answer, round } = setup(['a']);
  quick(dispatcher);
  enqueue(1);
  const [alone] = enqueue(1, () => task([2], { timeout: 1000 }));
  enqueue(1, () => task([3], { signal: new AbortController().signal }));
  enqueue(1);
  assert.equal(alone!.exclusive, true);
  assert.deepEqual(round(), ['a:1'], 'the exclusive task waits behind the worker’s in-flight task');
  assert.deepEqual(round(), []);
  answer(workers[0]!, 1);
  assert.deepEqual(round(), ['a:2']);
  assert.equal(workers[0]!.exclusive, true);
  assert.deepEqual(round(), [], 'nothing joins an exclusive task');
  answer(workers[0]!, 1);
  assert.equal(workers[0]!.exclusive, false);
  assert.deepEqual(round(), ['a:3']);
  answer(workers[0]!, 1);
  assert.deepEqual(round(), ['a:4']);
});

test('an exclusive task takes a free worker while the others take the ordinary ones', () => {
  const { dispatcher, enqueue, round } = setup(['a', 'b']);
  quick(dispatcher);
  enqueue(1);
  enqueue(1, () => task([2], { timeout: 1000 }));
  enqueue(1);
  assert.deepEqual(round(), ['a:1', 'b:2', 'a:3']);
  enqueue(2);
  assert.deepEqual(round(), ['a:4,5'], 'b runs its exclusive task alone');
});

test('an exclusive task that could not be sent leaves its worker free', () => {
  const { workers } = setup(['a']);
  const dispatcher = new Dispatcher<Worker>(null, (slot) => dispatcher.sent(slot, []));
  dispatcher.enqueue(task([1], { timeout: 1000 }));
  dispatcher.dispatch(workers);
  assert.equal(workers[0]!.exclusive, false);
  assert.equal(dispatcher.pending, 0);
  assert.equal(dispatcher.inflight, 0);
});

test('byte limits: large payloads go in messages of their own, and a worker holds about 1 MiB of them', () => {
  const { dispatcher, workers, enqueue, answer, round } = setup(['a']);
  quick(dispatcher);
  const size = 400_000;
  assert.ok(size < BATCH_BYTES * 2 && size > BATCH_BYTES / 2 && size * 3 > INFLIGHT_BYTES);
  enqueue(5, () => task(new ArrayBuffer(size)));
  assert.deepEqual(round(), ['a:1', 'a:2']);
  assert.equal(workers[0]!.inflightBytes, 2 * size);
  answer(workers[0]!, 1);
  assert.deepEqual(round(), ['a:3']);
  answer(workers[0]!, 2);
  assert.equal(workers[0]!.inflightBytes, 0);
  assert.deepEqual(round(), ['a:4', 'a:5']);
});

test('byte limits: medium payloads are batched up to BATCH_BYTES per message', () => {
  const { dispatcher, enqueue, round } = setup(['a']);
  quick(dispatcher);
  enqueue(12, () => task(new Uint8Array(100_000)));
  assert.deepEqual(round(), ['a:1,2', 'a:3,4', 'a:5,6', 'a:7,8', 'a:9,10']);
  assert.equal(dispatcher.pending, 2);
});

test('a payload larger than the in-flight limit still goes, alone, to an empty worker', () => {
  const { dispatcher, enqueue, round } = setup(['a']);
  quick(dispatcher);
  enqueue(2, () => task(new ArrayBuffer(2 * INFLIGHT_BYTES)));
  assert.deepEqual(round(), ['a:1']);
});

test('shared and transferred buffers cost nothing to clone', () => {
  const shared = new SharedArrayBuffer(400_000);
  const moved = new ArrayBuffer(400_000);
  assert.equal(cloneBytes(shared, undefined), 0);
  assert.equal(cloneBytes(new Float64Array(shared), undefined), 0);
  assert.equal(cloneBytes([moved], [moved]), 8);
  assert.equal(cloneBytes([moved], undefined), 8 + 400_000);
  assert.equal(cloneBytes([[new Uint8Array(10)]], undefined), 8 + 8 + 10);
  assert.equal(cloneBytes({ big: moved }, undefined), 0, 'only arrays and buffers are looked into');
  const { dispatcher, enqueue, round } = setup(['a']);
  quick(dispatcher);
  enqueue(5, () => task([new Float64Array(shared)]));
  assert.deepEqual(round(), ['a:1,2,3,4,5']);
});

test('maxTasksPerChild: a worker is sent that many tasks, then is spent once they are done', () => {
  const { dispatcher, workers, enqueue, answer, round } = setup(['a'], 3);
  quick(dispatcher);
  enqueue(5);
  assert.deepEqual(round(), ['a:1,2,3']);
  assert.equal(dispatcher.spent(workers[0]!), false);
  answer(workers[0]!, 2);
  assert.equal(dispatcher.spent(workers[0]!), false, 'still holds a task');
  answer(workers[0]!, 1);
  assert.equal(dispatcher.spent(workers[0]!), true);
  assert.deepEqual(round(), [], 'a spent worker takes nothing more');
  workers[0]!.leaving = true;
  workers.push({ ...freshSlot(), name: 'b' });
  assert.deepEqual(round(), ['b:4,5']);
});

test('tasks finished while queued are skipped, and leaving workers take nothing', () => {
  const { dispatcher, workers, enqueue, round } = setup(['a', 'b']);
  quick(dispatcher);
  const entries = enqueue(4);
  entries[1]!.done = true;
  dispatcher.forget(entries[1]!);
  assert.equal(dispatcher.pending, 3);
  workers[0]!.leaving = true;
  assert.deepEqual(round(), ['b:1,3,4']);
  assert.equal(dispatcher.pending, 0);
  assert.equal(dispatcher.inflight, 3);
});

test('tasks of a lost worker that never started go back to the front, in their order', () => {
  const { dispatcher, workers, enqueue, round } = setup(['a', 'b']);
  enqueue(6);
  assert.deepEqual(round(), ['a:1,2', 'b:3,4']);
  const [a] = workers.splice(0, 1);
  const held = dispatcher.release(a!);
  assert.deepEqual(held.map((entry) => entry.id), [1, 2]);
  assert.equal(dispatcher.inflight, 2);
  dispatcher.requeue(held);
  assert.equal(dispatcher.pending, 4);
  workers.push({ ...freshSlot(), name: 'c' });
  assert.deepEqual(round(), ['c:1,2']);
});

test('takeAll empties the queue and every worker, skipping finished tasks', () => {
  const { dispatcher, workers, enqueue, round } = setup(['a']);
  const entries = enqueue(5);
  round();
  entries[0]!.done = true;
  entries[3]!.done = true;
  dispatcher.forget(entries[3]!);
  assert.deepEqual(dispatcher.takeAll(workers).map((entry) => entry.id), [3, 5, 2]);
  assert.equal(dispatcher.pending, 0);
  assert.equal(dispatcher.inflight, 0);
  assert.equal(workers[0]!.inflight.size, 0);
});

test('results may come back in any order (tasks run at once finish so), but only for tasks the worker holds', () => {
  const { dispatcher, workers, enqueue, round } = setup(['a']);
  enqueue(3);
  round();
  const a = workers[0]!;
  assert.equal(dispatcher.completed(a, 2).id, 2);
  assert.deepEqual([a.inflight.at(0)?.id, a.inflight.size, dispatcher.inflight], [1, 1, 1]);
  assert.throws(() => dispatcher.completed(a, 2), { code: 'ERR_MP_INTERNAL' });
  assert.throws(() => dispatcher.completed(a, 3), { code: 'ERR_MP_INTERNAL' }, 'still queued, never sent');
  assert.equal(dispatcher.completed(a, 1).id, 1);
});

test('function ids: one per function, whatever wire object carries it', () => {
  const { dispatcher } = setup([]);
  const same = { ...cube };
  const other: WireFunction = { by: 'source', expression: '(x) => x + 1', name: 'inc' };
  const id = dispatcher.functionId(cube);
  assert.equal(dispatcher.functionId(cube), id);
  assert.equal(dispatcher.functionId(same), id);
  const otherId = dispatcher.functionId(other);
  assert.notEqual(otherId, id);
  assert.equal(dispatcher.functionAt(id), cube);
  assert.equal(dispatcher.functionAt(otherId), other);
  assert.equal(dispatcher.enqueue(task([1], { fn: same })).fnId, id);
});

test('priorities: higher first, equal ones FIFO, in every message; a lost worker’s tasks go back to their places', () => {
  const { dispatcher, workers, enqueue, round } = setup(['a', 'b']);
  enqueue(2); // 1, 2
  enqueue(2, () => task([1], { priority: 1 })); // 3, 4
  enqueue(1, () => task([1], { priority: -1 })); // 5
  enqueue(1); // 6
  enqueue(1, () => task([1], { priority: 7 })); // 7
  assert.deepEqual(round(), ['a:7,3', 'b:4,1']);
  assert.deepEqual(round(), []);
  const lost = dispatcher.release(workers[1]!);
  dispatcher.requeue(lost);
  assert.equal(dispatcher.pending, 5);
  assert.deepEqual(round(), ['b:4,1']);
  dispatcher.completed(workers[0]!, 7);
  dispatcher.completed(workers[0]!, 3);
  dispatcher.completed(workers[1]!, 4);
  dispatcher.completed(workers[1]!, 1);
  assert.deepEqual(round(), ['a:2,6', 'b:5']);
});

/**
 * Two workers `a` and `b` with claim words, each one's side of its word as its worker claims
 * (`claimA`, `claimB`), and the messages the dispatcher sent, as `name:id,id`, taken by `sentSince()`.
 */
function stealing() {
  const messages: string[] = [];
  const dispatcher: Dispatcher<Worker> = new Dispatcher<Worker>(null, (slot, batch) => {
    messages.push(`${slot.name}:${batch.map((entry) => entry.id).join(',')}`);
    dispatcher.sent(slot, batch);
  });
  const words = [new SharedArrayBuffer(4), new SharedArrayBuffer(4)];
  const [a, b] = words.map((buffer, i): Worker => ({ ...freshSlot(new Claims(buffer)), name: 'ab'[i]! })) as [Worker, Worker];
  const [claimA, claimB] = words.map((buffer) => new ClaimCursor(buffer)) as [ClaimCursor, ClaimCursor];
  return { dispatcher, a, b, claimA, claimB, sentSince: (): string[] => messages.splice(0) };
}

test('stealing: once nothing is queued, an idle worker takes over the task another would start next, which then skips it', () => {
  const { dispatcher, a, b, claimA, claimB, sentSince } = stealing();
  dispatcher.enqueue(task());
  dispatcher.enqueue(task());
  dispatcher.dispatch([a]);
  assert.deepEqual(sentSince(), ['a:1,2']);
  // a starts task 1: task 2 is the one it would start next, and b, idle, takes it.
  assert.equal(claimA.claim(), true);
  assert.deepEqual(dispatcher.steal([a, b]), [a], 'it says whom it took from');
  assert.deepEqual(sentSince(), ['b:2']);
  // a reaches task 2: taken back, it skips it.
  assert.equal(claimA.claim(), false);
  assert.equal(claimB.claim(), true);
  assert.deepEqual([a.inflight.size, b.inflight.size, dispatcher.inflight, a.tasksSent, b.tasksSent], [1, 1, 2, 1, 1]);
  dispatcher.completed(a, 1);
  dispatcher.completed(b, 2);
  assert.equal(dispatcher.inflight, 0);
  // While tasks are queued, the queue feeds idle workers: nothing is taken back.
  for (let i = 0; i < 3; i++) dispatcher.enqueue(task());
  dispatcher.dispatch([a]);
  assert.deepEqual(sentSince(), ['a:3,4']);
  assert.equal(dispatcher.steal([a, b]), undefined);
  assert.deepEqual(sentSince(), []);
});

test('stealing takes nothing a worker has claimed, nor a task whose buffers moved into it', () => {
  const { dispatcher, a, b, claimA, sentSince } = stealing();
  dispatcher.enqueue(task());
  const buffer = new ArrayBuffer(8);
  dispatcher.enqueue(task([buffer], { transfer: [buffer] }));
  dispatcher.dispatch([a]);
  assert.deepEqual(sentSince(), ['a:1,2']);
  assert.equal(claimA.claim(), true);
  dispatcher.steal([a, b]);
  assert.deepEqual(sentSince(), [], 'task 2 moved its buffer into a');
  dispatcher.completed(a, 1);
  dispatcher.enqueue(task());
  dispatcher.dispatch([a]);
  assert.deepEqual(sentSince(), ['a:3']);
  assert.equal(claimA.claim(), true);
  assert.equal(claimA.claim(), true);
  dispatcher.steal([a, b]);
  assert.deepEqual(sentSince(), [], 'a claimed both');
});

test('stealing leaves alone a task its worker will start as soon as it arrives (sending it twice would gain nothing)', () => {
  const { dispatcher, a, b, claimA, sentSince } = stealing();
  dispatcher.enqueue(task());
  dispatcher.dispatch([a]);
  assert.equal(dispatcher.steal([a, b]), undefined, 'one task, a place free for it on a');
  dispatcher.enqueue(task());
  dispatcher.dispatch([a]);
  assert.deepEqual(sentSince(), ['a:1', 'a:2']);
  // Two on their way and one place: one of them will wait, so b takes one.
  dispatcher.steal([a, b]);
  assert.deepEqual(sentSince(), ['b:1']);
  assert.equal(claimA.claim(), false, 'a skips task 1 and starts with task 2');
});

test('claim words wrap after 2³² tasks: both sides keep counting across it', () => {
  const first = 2 ** 32 - 2;
  const buffer = new SharedArrayBuffer(4);
  new Int32Array(buffer)[0] = first | 0;
  const claims = new Claims(buffer, first);
  const cursor = new ClaimCursor(buffer, first);
  const numbers = Array.from({ length: 6 }, () => claims.next());
  assert.deepEqual(numbers, [first, first + 1, 2 ** 32, 2 ** 32 + 1, 2 ** 32 + 2, 2 ** 32 + 3]);
  assert.equal(cursor.claim(), true);
  assert.equal(cursor.claim(), true);
  assert.equal(claims.claimed(), 2 ** 32, 'past the wrap');
  // The pool takes back the next two (the word holds 0 by now: 2³² in 32 bits).
  assert.equal(claims.takeBack(2 ** 32, 2), true);
  assert.equal(claims.claimed(), 2 ** 32 + 2);
  assert.deepEqual([cursor.claim(), cursor.claim(), cursor.claim()], [false, false, true]);
  assert.equal(claims.claimed(), 2 ** 32 + 3);
  assert.equal(claims.takeBack(2 ** 32 + 2, 1), false, 'the worker claimed it first');
});
