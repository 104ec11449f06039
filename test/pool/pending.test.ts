// The queue of pending tasks (src/pool/pending.ts), without a pool: priority order, FIFO among equal
// priorities, the aging rule at its exact bound, and tasks put back after a lost worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGING, PendingQueue, keyOf, type Queued } from '../../src/pool/pending.js';

type Item = Queued & { readonly name: string };

function queue() {
  let nextId = 1;
  const q = new PendingQueue<Item>(4);
  const add = (name: string, priority = 0): Item => {
    const id = nextId++;
    const item = { id, key: keyOf(id, priority), name };
    q.push(item);
    return item;
  };
  const names = (): string[] => q.drain().map((item) => item.name);
  return { q, add, names, skip: (count: number) => (nextId += count) };
}

test('all default priority: plain FIFO, through growth of the ring', () => {
  const { q, add, names } = queue();
  for (let i = 0; i < 100; i++) add(`t${i}`);
  assert.equal(q.size, 100);
  assert.deepEqual(names(), Array.from({ length: 100 }, (_, i) => `t${i}`));
  assert.equal(q.size, 0);
  assert.equal(q.peek(), undefined);
  assert.equal(q.shift(), undefined);
});

test('higher priority first; equal priorities in submission order; negative after the default', () => {
  const { q, add, names } = queue();
  add('a0');
  add('b5', 5);
  add('c-1', -1);
  add('d0');
  add('e5', 5);
  add('f2', 2);
  add('g2.5', 2.5);
  add('h-1', -1);
  assert.equal(q.size, 8);
  assert.equal(q.peek()!.name, 'b5');
  assert.deepEqual(names(), ['b5', 'e5', 'g2.5', 'f2', 'a0', 'd0', 'c-1', 'h-1']);
});

test(`aging: a task of priority 0 is overtaken by exactly the ${AGING - 1} priority-1 tasks submitted right after it`, () => {
  const { add, names } = queue();
  add('low');
  for (let i = 1; i <= 3 * AGING; i++) add(`high${i}`, 1);
  const order = names();
  assert.equal(order.indexOf('low'), AGING - 1);
  assert.deepEqual(order.slice(0, AGING - 1), Array.from({ length: AGING - 1 }, (_, i) => `high${i + 1}`));
  // Two units of priority are worth twice as many submissions.
  const two = queue();
  two.add('low');
  for (let i = 1; i <= 3 * AGING; i++) two.add(`high${i}`, 2);
  assert.equal(two.names().indexOf('low'), 2 * AGING - 1);
});

test('aging: an old low-priority task goes before a high-priority task submitted much later', () => {
  const { add, names, skip } = queue();
  add('old', -1);
  skip(2 * AGING + 1); // as if that many tasks had been submitted (and run) since
  add('new', 1);
  assert.deepEqual(names(), ['old', 'new']);
});

test('requeue: tasks taken and put back go before later tasks of their priority, in their order', () => {
  const { q, add, names } = queue();
  add('a');
  add('b');
  add('p', 3);
  add('c');
  const taken = [q.shift()!, q.shift()!, q.shift()!];
  assert.deepEqual(taken.map((item) => item.name), ['p', 'a', 'b']);
  add('d');
  add('q', 3);
  q.requeue(taken);
  assert.equal(q.size, 6);
  assert.deepEqual(names(), ['p', 'q', 'a', 'b', 'c', 'd']);
});
