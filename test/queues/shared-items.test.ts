// Shared objects, shared memory and class instances through queue items, pipe messages and pool
// results: each arrives live (the same memory, the same lock), as the README promises.
import assert from 'node:assert/strict';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer, threadOnly } from '../fixtures/context.js';
import {
  CHECKS,
  Point,
  bump,
  describeArg,
  isPoint,
  lockFromQueue,
  makeAllShared,
  makeMixed,
  makeValue,
  recvAndUse,
  resultWithCallback,
  takeAndUse,
  takeAndUseBlocking,
  useSentConnection,
  type AllShared,
} from '../fixtures/queues/shared-targets.js';
import { Vec, takeVec } from '../fixtures/queues/point.mjs';

const { Lock, Pipe, Pool, Process, Queue, SharedArray, Value } = ctx;

const T = { timeout: 60_000 };
const ALL = (1 << CHECKS.length) - 1;

function failed(bits: number): string[] {
  return CHECKS.filter((_, i) => (bits & (1 << i)) === 0);
}

/** The parent's side of `useAllShared`: holds what the child must find held, then checks its writes. */
function prepare(all: AllShared): void {
  all.lock.acquire();
  all.bounded.acquire();
  all.joinable.put('job');
}

function checkWrites(all: AllShared, mine: mp.Connection<string>): void {
  assert.equal(all.value.value, 1);
  assert.equal(all.rawValue.value, 2.5);
  assert.equal(all.array[0], 7);
  assert.equal(all.rawArray[3], 9);
  assert.equal(all.semaphore.getValue(), 1);
  assert.equal(all.event.isSet(), true);
  assert.equal(all.queue.get(true, 10_000), 'from child');
  assert.equal(all.simple.get(), 'simple from child');
  assert.equal(all.joinable.join(10_000), true);
  assert.equal(mine.recv(), 'through the pipe');
  assert.equal(new Int32Array(all.buffer)[1], 11);
  assert.equal(all.words[1], 13);
}

function checkReturned(back: AllShared, all: AllShared): void {
  back.value.value += 10;
  assert.equal(all.value.value, 11, 'the Value that came back is the same memory');
  assert.equal(back.lock.acquire(false), false, 'the Lock that came back is the one this thread holds');
  all.lock.release();
  assert.equal(back.lock.acquire(false), true);
  back.lock.release();
  assert.ok(back.point instanceof Point);
  assert.equal(back.point.norm(), 5);
  assert.equal(back.nested.deep[0].get('v'), back.value, 'one object, one revival');
}

for (const [how, target] of [['getAsync', takeAndUse], ['blocking get', takeAndUseBlocking]] as const) test(`every shareable crosses a queue item live, both ways, put after the child started (${how})`, { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe<string>();
  const all = makeAllShared(theirs);
  prepare(all);
  const q = new Queue<AllShared>();
  const back = new Queue<[number, AllShared]>();
  const p = new Process({ target, args: [q, back] });
  p.start();
  q.put(all); // the child may still be starting: its channel is not open yet
  assert.equal(all.barrier.wait(30_000) >= 0, true);
  const [bits, returned] = back.get(true, 30_000);
  assert.deepEqual(failed(bits), []);
  assert.equal(bits, ALL);
  checkWrites(all, mine);
  checkReturned(returned, all);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('every shareable crosses a pipe message live, both ways', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe<string>();
  const all = makeAllShared(theirs);
  prepare(all);
  const [here, there] = Pipe<unknown>();
  const p = new Process({ target: recvAndUse, args: [there] });
  p.start();
  here.send(all);
  assert.equal(all.barrier.wait(30_000) >= 0, true);
  const [bits, returned] = here.recv() as [number, AllShared];
  assert.deepEqual(failed(bits), []);
  checkWrites(all, mine);
  checkReturned(returned, all);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('a lock put on a queue before the child exists arrives live', { ...T, ...needsSharedMemory }, async () => {
  const lock = new Lock();
  lock.acquire();
  const q = new Queue<mp.Lock>();
  q.put(lock);
  const out = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: lockFromQueue, args: [q, out] });
  p.start();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(out[0], 1);
});

test('a Connection sent through a Pipe is used on the other side (CPython test_pickling of connections)', { ...T, ...needsSharedMemory }, async () => {
  const [outer, outerChild] = Pipe<mp.Connection<string>>();
  const [a, b] = Pipe<string>();
  const p = new Process({ target: useSentConnection, args: [outerChild] });
  p.start();
  outerChild.close();
  outer.send(b); // one more handle of b's end, owned by whoever receives it
  b.close(); // ours: the child's copy keeps the end open
  assert.equal(a.recv(), 'hello through a sent connection');
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(a.poll(10_000), true);
  assert.throws(() => a.recv(), (e: Error & { code?: string }) => e.code === 'ERR_MP_EOF', 'every handle of the end is closed');
});

test('the same item twice, and a queue inside an item on its own queue, in one thread', needsSharedMemory, () => {
  const v = new Value('i', 5);
  const q = new Queue<unknown>();
  q.put({ v, again: v, q });
  q.put(v);
  const first = q.get(false) as { v: mp.Value<'i'>; again: mp.Value<'i'>; q: mp.Queue<unknown> };
  assert.equal(first.v, first.again);
  first.v.value = 6;
  assert.equal(v.value, 6);
  first.q.put('via the copy');
  assert.equal((q.get(false) as mp.Value<'i'>).value, 6);
  assert.equal(q.get(false), 'via the copy');
});

// Under 'process' the child runs under tsx here, whose CommonJS hook makes a synchronous require() of an
// ES module unsafe (it would load a second copy of the class): the async path serves that child. The
// same program in plain JavaScript gets the class at once in a process child: test/package/installed.test.ts.
test('a blocking get gives an instance of a class a JavaScript module exports, with no event loop turn', { ...T, ...needsSharedMemory, ...threadOnly('a process child of this suite runs under tsx (see above)') }, async () => {
  const q = new Queue<Vec>();
  const out = new Int32Array(sharedBuffer(4));
  const p = new Process({ target: takeVec, args: [q, out] });
  p.start();
  q.put(new Vec(3, 4));
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(out[0], 1);
});

test('a Connection in an item that is not sent after all (uncloneable neighbour, Full) leaves no handle open', needsSharedMemory, () => {
  const [a, b] = Pipe<string>();
  const q = new Queue<unknown>(1);
  assert.throws(() => q.put({ conn: b, bad: Symbol('x') }), (e: Error & { code?: string }) => e.code === 'ERR_MP_UNCLONEABLE');
  q.put('filler');
  assert.throws(() => q.put({ conn: b }, false), (e: Error & { code?: string }) => e.code === 'ERR_MP_FULL');
  b.close();
  assert.equal(a.poll(0), true, 'the only handle of b is closed: a sees EOF at once');
  assert.throws(() => a.recv(), (e: Error & { code?: string }) => e.code === 'ERR_MP_EOF');
});

test('pool results: a Value made in a worker comes back live, and goes back to a worker live', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(2);
  try {
    const v = await pool.apply(makeValue, [41]);
    assert.ok(v instanceof Value);
    assert.equal(v.value, 41);
    assert.equal(await pool.apply(bump, [v]), 42);
    assert.equal(v.value, 42);
    const mixed = await pool.apply(makeMixed);
    assert.ok(mixed.lock instanceof Lock);
    assert.equal(mixed.lock.acquire(false), true);
    const array = mixed.stuff.get('array') as InstanceType<typeof SharedArray>;
    assert.deepEqual([...array], [1, 2, 3]);
    assert.ok(mixed.list.every((point) => point instanceof Point));
    assert.deepEqual(mixed.list.map((point) => point.norm()), [Math.SQRT2, 10]);
    const values = await pool.map(makeValue, [1, 2, 3, 4, 5], 2);
    assert.deepEqual(values.map((x) => x instanceof Value && x.value), [1, 2, 3, 4, 5]);
  } finally {
    await pool.terminate();
  }
});

test('class instances cross as instances of the worker\'s own copy of their class, and back', T, async () => {
  const pool = new Pool(1);
  try {
    assert.deepEqual(await pool.apply(isPoint, [new Point(3, 4)]), [true, 5]);
    assert.deepEqual(await pool.map(isPoint, [new Point(6, 8), { x: 6, y: 8 }]), [[true, 10], [false, -1]]);
  } finally {
    await pool.terminate();
  }
});

test('an instance whose class cannot be located (it uses an outer variable) still arrives as plain data', T, async () => {
  const unit = 'cm';
  class Length {
    constructor(readonly n: number) {}
    toString(): string {
      return `${this.n} ${unit}`;
    }
  }
  const pool = new Pool(1);
  try {
    assert.deepEqual(await pool.apply(describeArg, [new Length(3)]), ['plain', { n: 3 }]);
    assert.deepEqual(await pool.apply(describeArg, [new Point(1, 2)]), ['Point', { x: 1, y: 2 }]);
  } finally {
    await pool.terminate();
  }
});

test('a result that cannot be sent back names its path', T, async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(resultWithCallback), (e: Error & { code?: string }) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^result\.cb cannot be sent back to the parent: it is a function/);
      return true;
    });
  } finally {
    await pool.terminate();
  }
});
