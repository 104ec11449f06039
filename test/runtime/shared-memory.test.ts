// allocateShared: the one allocator of shared memory (runtime/shared-memory.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocateShared } from '../../src/runtime/shared-memory.js';

test('a fixed allocation: zeroed shared memory of the asked size that cannot grow', () => {
  const buffer = allocateShared(24);
  assert.ok(buffer instanceof SharedArrayBuffer);
  assert.equal(buffer.byteLength, 24);
  assert.equal(buffer.growable, false);
  assert.deepEqual([...new Uint8Array(buffer)], new Array(24).fill(0));
});

test('with maxByteLength: growable up to it, zeroed as it grows, and no further', () => {
  const buffer = allocateShared(8, { maxByteLength: 64 });
  assert.equal(buffer.growable, true);
  assert.equal(buffer.byteLength, 8);
  assert.equal(buffer.maxByteLength, 64);
  new Uint8Array(buffer).fill(7);
  buffer.grow(64);
  assert.equal(buffer.byteLength, 64);
  const bytes = new Uint8Array(buffer);
  assert.equal(bytes.slice(0, 8).join(), '7,7,7,7,7,7,7,7');
  assert.equal(bytes.slice(8).every((b) => b === 0), true);
  assert.throws(() => buffer.grow(65), RangeError);
});

test('no other module of the library makes shared memory itself', () => {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  const offenders: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) visit(full);
      else if (full.endsWith('.ts') && !full.endsWith(join('runtime', 'shared-memory.ts'))) {
        if (readFileSync(full, 'utf8').includes('new SharedArrayBuffer')) offenders.push(full.slice(src.length + 1));
      }
    }
  };
  visit(src);
  assert.deepEqual(offenders, [], 'allocate through allocateShared (runtime/shared-memory.ts) instead');
});
