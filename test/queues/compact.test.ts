// The compact codec: every value on its fast path comes back exactly (as structuredClone would give it),
// in the narrowest MessagePack headers, and everything off its path is declined so the slower codecs
// carry it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactBuffer, decodeCompact, encodeCompact } from '../../src/queues/compact.js';

function roundTrip(value: unknown): unknown {
  const length = encodeCompact(value);
  if (length <= 0) assert.fail(`the fast path declined ${JSON.stringify(value)}`);
  const copy = Uint8Array.from(compactBuffer().subarray(0, length)); // as a consumer sees it: a copy
  return decodeCompact(copy, length);
}

function assertRoundTrips(value: unknown): void {
  const copy = roundTrip(value);
  assert.deepStrictEqual(copy, structuredClone(value));
}

test('numbers come back exactly, at every width boundary', () => {
  const edges = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -1, -32, -33,
    -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -1.25, Math.PI, 2 ** 53 - 1, -(2 ** 53), 1e300,
    Number.MIN_VALUE, Number.EPSILON, NaN, Infinity, -Infinity];
  for (const n of edges) assert.ok(Object.is(roundTrip(n), n), `${n}`);
  assert.ok(Object.is(roundTrip(-0), -0), '-0 stays -0');
  assert.ok(Object.is((roundTrip({ z: -0 }) as { z: number }).z, -0), '-0 inside an object stays -0');
});

test('small integers take one byte, and an item like { i, s } stays small', () => {
  assert.equal(encodeCompact(5), 1);
  assert.equal(encodeCompact(-5), 1);
  assert.equal(encodeCompact(300), 3);
  assert.equal(encodeCompact({ i: 7, s: 'item-7' }), 1 + 2 + 1 + 2 + 7);
});

test('strings of every length and script come back exactly', () => {
  const samples = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(70_000),
    'héllo', 'wörld ✓', '🎉 party', '日本語のテキスト'.repeat(40), 'mixed ascii then é'.repeat(3), '\u0000nul\u007f'];
  for (const s of samples) assert.equal(roundTrip(s), s, JSON.stringify(s.slice(0, 20)));
  const large = 'a'.repeat(3_000_000);
  assert.equal(encodeCompact(large), 5 + 3_000_000, 'a large ASCII string takes its own size, with a 5-byte header');
  assert.ok(compactBuffer().length < 6_000_000, 'and the buffer is not grown for three bytes per character');
});

test('objects and arrays of any header width come back exactly, keys in order', () => {
  const wide: Record<string, number> = {};
  for (let k = 0; k < 300; k++) wide[`key${k}`] = k;
  assertRoundTrips(wide);
  assert.deepEqual(Object.keys(roundTrip(wide) as object), Object.keys(wide));
  assertRoundTrips(Array.from({ length: 1000 }, (_, k) => k * 1.5));
  assertRoundTrips({ a: [1, 'two', { three: [3, [4, [5]]] }], b: null, c: undefined, d: true, e: false, f: [] });
  assertRoundTrips({ 2: 'two', 1: 'one', b: 'b', a: 'a', 'long key with spaces and ü': 1 });
  assertRoundTrips(Object.assign(Object.create(null) as object, { a: 1 }));
  assertRoundTrips([undefined, null, [], {}]);
});

test('the key cache never confuses two keys, even when they share a slot', () => {
  // 20,000 distinct short keys overflow a 4,096-slot cache, so many collide.
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 20_000; k++) {
      const key = `k${k.toString(36)}`;
      const copy = roundTrip({ [key]: k, same: k }) as Record<string, number>;
      assert.deepEqual(Object.keys(copy), [key, 'same']);
      assert.equal(copy[key], k);
    }
  }
  assert.deepEqual(roundTrip({ é: 1, ü: 2 }), { é: 1, ü: 2 }, 'non-ASCII keys are not cached wrongly');
});

test('values off the fast path are declined, for the slower codecs to carry exactly', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const shared = { v: 1 };
  let deep: unknown = 0;
  for (let d = 0; d < 60; d++) deep = [deep];
  const declined: Record<string, unknown> = {
    bigint: 1n,
    date: new Date(0),
    map: new Map(),
    set: new Set(),
    typedArray: new Uint8Array(1),
    regexp: /x/,
    holes: [1, , 3], // eslint-disable-line no-sparse-arrays
    extraArrayProperty: Object.assign([1], { extra: true }),
    protoKey: JSON.parse('{"__proto__": 1}') as unknown,
    loneSurrogate: 'a\uD800',
    loneSurrogateKey: { '\uDC00': 1 },
    classInstance: new (class Point { x = 1 })(),
    boxed: new String('s'),
    error: new Error('e'),
    cycle: cyclic,
    repeatedReference: { a: shared, b: shared },
    manyObjects: Array.from({ length: 40 }, () => ({})),
    tooDeep: deep,
    tooManyNodes: new Array<number>(5000).fill(1),
    nestedDate: { when: [new Date(0)] },
    func: () => 1,
    symbol: Symbol('s'),
  };
  for (const [name, value] of Object.entries(declined)) assert.equal(encodeCompact(value), -1, name);
});

test('random trees of plain data come back exactly', () => {
  let seed = 12345;
  const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const leaf = (): unknown => {
    const pick = Math.floor(random() * 8);
    if (pick === 0) return Math.floor(random() * 2 ** 40) - 2 ** 39;
    if (pick === 1) return random() * 1e6 - 5e5;
    if (pick === 2) return String.fromCharCode(...Array.from({ length: Math.floor(random() * 40) }, () => 32 + Math.floor(random() * 300)));
    if (pick === 3) return random() < 0.5;
    if (pick === 4) return null;
    if (pick === 5) return undefined;
    return Math.floor(random() * 100000) - 50000;
  };
  const tree = (depth: number): unknown => {
    if (depth > 3 || random() < 0.3) return leaf();
    if (random() < 0.5) return Array.from({ length: Math.floor(random() * 6) }, () => tree(depth + 1));
    const record: Record<string, unknown> = {};
    for (let k = Math.floor(random() * 6); k > 0; k--) record[`f${Math.floor(random() * 30)}`] = tree(depth + 1);
    return record;
  };
  for (let n = 0; n < 2000; n++) {
    const value = tree(0);
    const length = encodeCompact(value);
    if (length < 0) continue; // more than 32 objects: the slower codec's job
    assert.deepStrictEqual(decodeCompact(Uint8Array.from(compactBuffer().subarray(0, length)), length), structuredClone(value));
  }
});

test('a corrupt record is reported, not decoded into garbage', () => {
  const length = encodeCompact({ a: 1 });
  const copy = Uint8Array.from(compactBuffer().subarray(0, length));
  assert.throws(() => decodeCompact(copy, length + 1), /corrupt queue record/);
  copy[0] = 0xc4; // a MessagePack byte the codec never writes
  assert.throws(() => decodeCompact(copy, length), /corrupt queue record: unexpected byte 0xc4/);
});

test('the buffer grown for one large item is let go once items are small again', () => {
  const large = 'x'.repeat(2_000_000);
  assert.ok(encodeCompact(large) > 2_000_000);
  assert.ok(compactBuffer().length > 2_000_000);
  assert.equal(roundTrip('small'), 'small'); // the large item's buffer is still in use for this one
  assert.equal(roundTrip('small again'), 'small again');
  assert.ok(compactBuffer().length <= 64 * 1024, `still holding ${compactBuffer().length} bytes`);
  assert.equal(roundTrip(large), large, 'and it grows again when needed');
});
