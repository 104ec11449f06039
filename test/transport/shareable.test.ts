// The reduce/revive registry (transport/shareable.ts): registration, what a receiver must load, and
// the revive slot that hands reduced state to a constructor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/index.js';
import { kindsToLoad, registerShareable, ReviveSlot } from '../../src/transport/shareable.js';

test('registerShareable needs the module URL', () => {
  const register = registerShareable as (kind: string, revive: (state: unknown, later: (work: Promise<void>) => void) => unknown) => void;
  assert.throws(
    () => register('test.NoUrl', (state) => state),
    (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && /pass import\.meta\.url/.test(e.message),
  );
  assert.deepEqual(kindsToLoad('test.NoUrl'), []);
});

test('a kind names its own module; a carrier names every kind of the library, not the program\'s', () => {
  registerShareable('test.Mine', (state) => state, import.meta.url);
  assert.deepEqual(kindsToLoad('test.Mine'), [['test.Mine', import.meta.url]]);
  const [[, lockModule]] = kindsToLoad('Lock') as [[string, string]];
  assert.match(lockModule, /\/sync\/lock\.(ts|js)$/);
  const carried = new Map(kindsToLoad('Queue'));
  assert.deepEqual(
    [...carried.keys()].sort(),
    ['Array', 'Barrier', 'BoundedSemaphore', 'Condition', 'Connection', 'Event', 'JoinableQueue', 'Lock', 'Queue', 'RLock', 'RawValue', 'Semaphore', 'ShareableList', 'SharedMemory', 'SimpleQueue', 'Value'],
  );
  assert.equal(carried.get('Lock'), lockModule);
});

test('ReviveSlot: the constructor takes the state once; the slot is empty after make, even when it throws', () => {
  const slot = new ReviveSlot<number>();
  class Box {
    readonly n = slot.take() ?? -1;
  }
  assert.equal(slot.fill(7, () => new Box()).n, 7);
  assert.equal(new Box().n, -1);
  assert.equal(slot.fill(8, () => [slot.peek(), new Box().n, new Box().n].join()), '8,8,-1');
  assert.throws(() => slot.fill(9, () => {
    throw new RangeError('constructor failed');
  }), RangeError);
  assert.equal(slot.peek(), undefined);
  assert.equal(new Box().n, -1);
});
