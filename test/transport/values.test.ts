// Values crossing into workers: structured clone, shareables live at any depth, uncloneable values
// named by path.
import assert from 'node:assert/strict';
import { reduce } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { pack } from '../../src/transport/pack.js';
import { unpack } from '../../src/transport/unpack.js';
import { SharedCounter, incrementAll, sameObject } from '../fixtures/transport/counter.js';

const { Process } = ctx;

const T = { timeout: 20_000 };

function int32(n = 1): Int32Array {
  return new Int32Array(sharedBuffer(4 * n));
}

/** A counter over the context's memory, so that a 'process' child shares it too. */
function newCounter(): SharedCounter {
  return new SharedCounter(new Int32Array(sharedBuffer(8)));
}

async function run(target: unknown, args: unknown[]): Promise<mp.Process> {
  const p = new Process({ target: target as never, args });
  p.start();
  await p.join(15_000);
  return p;
}

test('a shareable arrives live at any depth of plain arrays and objects; child mutations are visible here', { ...T, ...needsSharedMemory }, async () => {
  const top = newCounter();
  const inArray = newCounter();
  const deep = newCounter();
  const inNullProto = newCounter();
  const bag = Object.assign(Object.create(null) as Record<string, unknown>, { c: inNullProto });
  const report = int32(2);
  const tree = [top, [inArray], { a: { b: [{ c: deep }] } }, bag, 'text', 42];
  const p = await run(incrementAll, [tree, report]);
  assert.equal(p.exitCode, 0);
  assert.deepEqual([...report], [4, 4], 'every counter arrived as a SharedCounter');
  assert.equal(top.value, 2); // depth 1 (inside args' tree array)
  assert.equal(inArray.value, 3);
  assert.equal(deep.value, 6);
  assert.equal(inNullProto.value, 3);
  for (const c of [top, inArray, deep, inNullProto]) assert.equal(c.revivals, 1);
  assert.equal(tree[0], top, 'the caller\'s arguments are not changed');
});

test('a shareable as a direct argument; the same object twice', { ...T, ...needsSharedMemory }, async () => {
  const counter = newCounter();
  const report = int32();
  const p = await run(sameObject, [counter, counter, report]);
  assert.equal(p.exitCode, 0);
  assert.equal(counter.value, 2);
  assert.ok(report[0]! & 2, 'arrived as a SharedCounter');
});

test('a shareable whose class the child never imports: the child imports the module that registered its kind', { ...T, ...needsSharedMemory }, async () => {
  // A self-contained target crosses by source, so nothing but the kind's registration brings counter.ts.
  const counter = newCounter();
  const p = await run((c: { increment(by: number): number }) => c.increment(3), [counter]);
  assert.equal(p.exitCode, 0);
  assert.equal(counter.value, 3);
  assert.equal(counter.revivals, 1);
});

test('a shared object of a kind nobody registered: the child fails with a message naming the kind', T, async (t) => {
  const writes: string[] = [];
  t.mock.method(process.stderr, 'write', (chunk: unknown) => (writes.push(String(chunk)), true));
  const unregistered = { [reduce]: () => ({ kind: 'test.Unregistered', state: null }) };
  const p = await run((c: unknown) => c, [unregistered]);
  assert.equal(p.exitCode, 1);
});

test('plain values cross by structured clone: the child gets copies', { ...T, ...needsSharedMemory }, async () => {
  const out = int32(2);
  const data = { list: [1, 2, 3], map: new Map([['k', 5]]), date: new Date(0), big: 10n, nested: { s: 'x' } };
  const p = await run(
    (d: typeof data, o: Int32Array) => {
      d.list.push(4);
      Atomics.store(o, 0, d.list.length + (d.map.get('k') ?? 0) + Number(d.big) + (d.date instanceof Date ? 100 : 0));
      Atomics.store(o, 1, d.nested.s === 'x' ? 1 : 0);
    },
    [data, out],
  );
  assert.equal(p.exitCode, 0);
  assert.deepEqual([...out], [4 + 5 + 10 + 100, 1]);
  assert.equal(data.list.length, 3, 'the parent\'s copy is untouched');
});

test('pack/unpack round trip in one thread: shareables revived, nothing else changed', { ...T, ...needsSharedMemory }, async () => {
  const counter = newCounter();
  const value = { a: [1, { counter }], b: 'x' };
  const packed = pack(value, 'args');
  assert.equal(packed.live, true);
  const cloned = structuredClone(packed);
  const back = (await unpack(cloned)) as typeof value;
  const revived = (back.a[1] as { counter: SharedCounter }).counter;
  assert.ok(revived instanceof SharedCounter);
  assert.notEqual(revived, counter);
  revived.increment(5);
  assert.equal(counter.value, 5);
  const plain = pack({ x: [1, 2] }, 'args');
  assert.equal(plain.live, false);
});

test('a value that cannot be cloned: TypeError naming its path (WeakMap)', T, () => {
  const p = new Process({ target: (..._args: unknown[]) => {}, args: [1, new WeakMap()] });
  assert.throws(() => p.start(), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^args\[1\] cannot be sent to a worker: /);
    assert.match(error.message, /WeakMap/);
    return true;
  });
  assert.equal(p.isAlive(), false);
});

test('a class instance holding a WeakMap: TypeError naming the path args[1].handler.state', T, () => {
  class Handler {
    constructor(readonly state: WeakMap<object, number>) {}
  }
  const p = new Process({ target: (..._args: unknown[]) => {}, args: [1, { handler: new Handler(new WeakMap()) }] });
  assert.throws(() => p.start(), (error: Error & { code?: string }) => {
    assert.ok(error instanceof TypeError);
    assert.equal(error.code, 'ERR_MP_UNCLONEABLE');
    assert.match(error.message, /^args\[1\]\.handler\.state cannot be sent to a worker: it is a WeakMap/);
    return true;
  });
});

test('a symbol argument: TypeError naming its path', T, () => {
  const p = new Process({ target: (..._args: unknown[]) => {}, args: [{ s: Symbol('x') }] });
  assert.throws(() => p.start(), /args\[0\]\.s is a symbol/);
});

test('a Map holding a WeakMap: the path names the map entry (a function there crosses, as in args)', T, () => {
  const p = new Process({ target: (..._args: unknown[]) => {}, args: [new Map([['k', new WeakMap()]])] });
  assert.throws(() => p.start(), /^TypeError: args\[0\]\.get\("k"\) cannot be sent to a worker: it is a WeakMap/);
});
