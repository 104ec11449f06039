// The IPC codec of 'process' children (runtime/process/message-codec.ts), on whichever runtime runs this
// file: Node writes with v8.Serializer and its shared-buffer hook, Bun (which has no Serializer class)
// walks every message and writes with v8.serialize. Both must give the same answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloneKeepingSharedBuffers, decodeMessage, encodeMessage } from '../../src/runtime/process/message-codec.js';
import { loadNative } from '../../src/runtime/process/native.js';
import { allocateAcrossProcesses } from '../../src/runtime/shared-memory.js';

const needsAddon = { skip: loadNative().native === undefined && 'no native addon: no process-shared memory' };

test('shared memory in arrays, maps and records crosses over the same memory; an own __proto__ key stays a key', needsAddon, () => {
  const words = new Int32Array(allocateAcrossProcesses(16, undefined));
  const record = JSON.parse('{"id": 1, "__proto__": 2}') as Record<string, unknown>;
  record['words'] = words;
  const wire = encodeMessage({ list: [words.buffer], map: new Map([['w', words]]), record });
  assert.ok(Array.isArray(wire), 'a message with shared memory carries its refs');
  const back = decodeMessage(wire) as { list: SharedArrayBuffer[]; map: Map<string, Int32Array>; record: Record<string, unknown> };
  back.map.get('w')![1] = 7;
  assert.equal(words[1], 7);
  assert.equal(new Int32Array(back.list[0]!)[1], 7);
  assert.deepEqual(Object.keys(back.record), ['id', '__proto__', 'words']);
  assert.equal(Object.getPrototypeOf(back.record), Object.prototype);
  assert.equal(back.record['__proto__'], 2);
});

test('shared memory the walk cannot reach (a class instance, an error) is refused, never copied', needsAddon, () => {
  const buffer = allocateAcrossProcesses(16, undefined);
  class Box {
    constructor(readonly inside: SharedArrayBuffer) {}
  }
  for (const message of [{ box: new Box(buffer) }, [new Error('e', { cause: new Int32Array(buffer) })]]) {
    assert.throws(
      () => encodeMessage(message),
      (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_UNCLONEABLE',
    );
  }
});

test('a message without shared memory is one byte string; an uncloneable part throws a DataCloneError', () => {
  const wire = encodeMessage({ a: [1, 'two', new Map([[3, new Set([4])]])], d: new Date(0) });
  assert.ok(wire instanceof Uint8Array);
  assert.deepEqual(decodeMessage(wire), { a: [1, 'two', new Map([[3, new Set([4])]])], d: new Date(0) });
  assert.throws(() => encodeMessage({ f: () => 1 }), (e: Error) => e.name === 'DataCloneError');
});

// A function's constants are snapshotted when it first crosses (transport/function-ref.ts): a copy of a
// process-shared buffer would be a new object, unknown to the registry that sends it to a process child.
test('cloneKeepingSharedBuffers copies the data and keeps each SharedArrayBuffer itself, which then crosses', needsAddon, () => {
  const words = new Int32Array(allocateAcrossProcesses(16, undefined));
  const original = { n: [1, 2], words, raw: words.buffer, map: new Map([['w', words.buffer]]) };
  const copy = cloneKeepingSharedBuffers(original);
  assert.notEqual(copy, original);
  assert.notEqual(copy.n, original.n);
  assert.deepEqual(copy.n, [1, 2]);
  assert.equal(copy.raw, words.buffer);
  assert.equal(copy.words.buffer, words.buffer);
  assert.equal(copy.map.get('w'), words.buffer);
  assert.equal(structuredClone(original).raw === words.buffer, false, 'structuredClone makes a new buffer object');
  const back = decodeMessage(encodeMessage(copy)) as typeof copy;
  back.words[2] = 9;
  assert.equal(words[2], 9);
});
