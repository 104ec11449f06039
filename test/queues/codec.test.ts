// Every structured-clonable kind round-trips exactly (through the codec, a Queue, and across a worker);
// what cannot be carried throws a TypeError naming the path, and nothing is enqueued.
import assert from 'node:assert/strict';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { decode, encode } from '../../src/queues/codec.js';
import { allKinds } from '../fixtures/queues/values.js';
import { echo, putAllKinds } from '../fixtures/queues/targets.js';

const { Process, Queue } = ctx;

const T = { timeout: 60_000 };

function assertSameAsClone(name: string, actual: unknown, original: unknown, sameStack = true): void {
  const expected: unknown = name === 'error' || name === 'typeError' ? original : structuredClone(original);
  if (expected instanceof Error) {
    assert.ok(actual instanceof (expected.constructor as ErrorConstructor), name);
    assert.equal((actual as Error).message, expected.message, name);
    assert.equal((actual as Error).name, expected.name, name);
    if (sameStack) assert.equal((actual as Error).stack, (original as Error).stack, `${name}: the stack crosses`);
    else assert.match((actual as Error).stack ?? '', /putAllKinds|allKinds/, `${name}: the worker's stack crosses`);
    return;
  }
  if (name === 'invalidDate') {
    assert.ok(actual instanceof Date && Number.isNaN(actual.getTime()), name);
    return;
  }
  assert.deepStrictEqual(actual, expected, name);
  if (name === 'holes') assert.ok(!(1 in (actual as unknown[])), 'a hole stays a hole');
  if (name === 'sparse') assert.deepEqual(Object.keys(actual as object), ['7']);
  if (name === 'negativeZero') assert.ok(Object.is(actual, -0));
  if (name === 'cyclic') assert.equal((actual as { self: unknown }).self, actual);
  if (name === 'sharedRefs') assert.equal((actual as { a: unknown }).a, (actual as { b: unknown }).b);
  if (name === 'float64') assert.ok(Object.is((actual as Float64Array)[1], -0));
}

test('the codec carries every structured-clonable kind exactly', () => {
  for (const [name, value] of Object.entries(allKinds())) {
    const { bytes, length, tag } = encode(value);
    const copy = Uint8Array.from(bytes.subarray(0, length));
    assertSameAsClone(name, decode(tag, copy, copy.length), value);
  }
});

test('a Queue carries every kind exactly, in order, on one thread', { ...T, ...needsSharedMemory }, () => {
  const q = new Queue();
  const kinds = allKinds();
  for (const value of Object.values(kinds)) q.put(value);
  for (const [name, value] of Object.entries(kinds)) assertSameAsClone(name, q.get(true, 1000), value);
  assert.ok(q.empty());
});

test('every kind crosses to a worker and back exactly', { ...T, ...needsSharedMemory }, async () => {
  const kinds = allKinds();
  const n = Object.keys(kinds).length;
  const there = new Queue();
  const back = new Queue();
  const p = new Process({ target: echo, args: [there, back, n] });
  p.start();
  for (const value of Object.values(kinds)) there.put(value);
  for (const [name, value] of Object.entries(kinds)) assertSameAsClone(name, await back.getAsync(30_000), value);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('values built in a worker arrive exactly', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue();
  const p = new Process({ target: putAllKinds, args: [q] });
  p.start();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  for (const [name, value] of Object.entries(allKinds())) assertSameAsClone(name, q.get(false), value, false);
});

test('an item that cannot be carried throws a TypeError naming the path; nothing is enqueued', needsSharedMemory, () => {
  const q = new Queue();
  q.put('before');
  const cases: [unknown, RegExp][] = [
    // A function: what to do instead (a name; or a task argument, which can carry functions).
    [{ handler() {} }, /^item\.handler is a function \(handler\), which cannot travel through a queue or a pipe: .* Put a name instead.*pass the function as a task argument/],
    [[1, Symbol('s')], /^item\[1\] cannot be sent: it is a symbol/],
    [{ m: new Map([['k', () => 1]]) }, /^item\.m\.get\("k"\) is a function/],
    [{ deep: { weak: new WeakMap() } }, /^item\.deep\.weak cannot be sent: it is a WeakMap/],
    [{ set: new Set([1, new WeakMap()]) }, /^item\.set<element 1> cannot be sent: it is a WeakMap/],
    [{ m: new Map<object, number>([[{}, 1], [new WeakSet(), 2]]) }, /^item\.m<key 1> cannot be sent: it is a WeakSet/],
    [() => 1, /^item is a function/],
    // A shared object crosses live now (test/queues/shared-items.test.ts); its neighbour still fails.
    [{ reply: new Queue(), bad: Symbol('b') }, /^item\.bad cannot be sent: it is a symbol/],
  ];
  for (const [item, message] of cases) {
    assert.throws(
      () => q.put(item),
      (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_UNCLONEABLE' && message.test(e.message),
    );
    assert.equal(q.qsize(), 1);
  }
  q.put('after');
  assert.equal(q.get(), 'before');
  assert.equal(q.get(), 'after');
});
