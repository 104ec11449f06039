// Pool.imap / imapUnordered: order, errors per item, throwing inputs, endless inputs, progress.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';
import { cube, failAt7, identity } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function collect<R>(it: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('imap yields results in input order', T, async () => {
  const pool = new Pool(2);
  try {
    assert.deepEqual(await collect(pool.imap(cube, range(50))), range(50).map((x) => x ** 3));
    assert.deepEqual(await collect(pool.imap(cube, range(50), 7)), range(50).map((x) => x ** 3));
    assert.deepEqual(await collect(pool.imap(cube, [])), []);
    // Slow early items still come out first.
    const delays: [number, number][] = [[150, 0], [1, 1], [50, 2], [1, 3]];
    assert.deepEqual(await collect(pool.imap(([ms, v]: [number, number]) => new Promise((r) => setTimeout(() => r(v), ms)), delays)), [0, 1, 2, 3]);
  } finally {
    await pool.terminate();
  }
});

test('imapUnordered yields the same multiset of results', T, async () => {
  const pool = new Pool(2);
  try {
    const got = await collect(pool.imapUnordered(cube, range(40), 3));
    assert.deepEqual([...got].sort((a, b) => a - b), range(40).map((x) => x ** 3));
    const unordered = await collect(pool.imapUnordered(identity, new Set(['a', 'b', 'c'])));
    assert.deepEqual([...unordered].sort(), ['a', 'b', 'c']);
  } finally {
    await pool.terminate();
  }
});

test('imap takes an async generator', T, async () => {
  const pool = new Pool(2);
  try {
    async function* agen() {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setImmediate(r));
        yield i;
      }
    }
    assert.deepEqual(await collect(pool.imap(cube, agen(), 2)), range(12).map((x) => x ** 3));
  } finally {
    await pool.terminate();
  }
});

test('CPython imap with chunksize 2 and an error at item 7: next() rejects for it, the following next() goes on', T, async () => {
  const pool = new Pool(2);
  try {
    const it = pool.imap(failAt7, range(10), 2);
    for (let i = 0; i < 7; i++) assert.deepEqual(await it.next(), { done: false, value: i });
    await assert.rejects(it.next(), (e: Error) => e instanceof RangeError && e.message === 'bad item 7');
    assert.deepEqual(await it.next(), { done: false, value: 8 });
    assert.deepEqual(await it.next(), { done: false, value: 9 });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  } finally {
    await pool.terminate();
  }
});

test('imapUnordered with an error: that next() rejects, the rest are delivered', T, async () => {
  const pool = new Pool(2);
  try {
    const it = pool.imapUnordered(failAt7, range(10), 2);
    const values: number[] = [];
    let errors = 0;
    for (;;) {
      try {
        const step = await it.next();
        if (step.done) break;
        values.push(step.value);
      } catch (error) {
        assert.equal((error as Error).message, 'bad item 7');
        errors += 1;
      }
    }
    assert.equal(errors, 1);
    assert.deepEqual(values.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 8, 9]);
  } finally {
    await pool.terminate();
  }
});

test('a for await loop over imap ends at the error', T, async () => {
  const pool = new Pool(2);
  try {
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const x of pool.imap(failAt7, range(10))) seen.push(x);
    }, { message: 'bad item 7' });
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  } finally {
    await pool.terminate();
  }
});

test('an input iterable that throws: results before it, then its error, then done', T, async () => {
  const pool = new Pool(2);
  try {
    function* broken() {
      for (let i = 0; i < 5; i++) yield i;
      throw new SyntaxError('input broke');
    }
    for (const chunksize of [1, 2]) {
      const it = pool.imap(cube, broken(), chunksize);
      for (let i = 0; i < 5; i++) assert.deepEqual(await it.next(), { done: false, value: i ** 3 });
      await assert.rejects(it.next(), (e: Error) => e instanceof SyntaxError && e.message === 'input broke');
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    }
    const unordered = pool.imapUnordered(cube, broken());
    const values: number[] = [];
    await assert.rejects(async () => {
      for await (const v of unordered) values.push(v);
    }, { message: 'input broke' });
    assert.deepEqual(values.sort((a, b) => a - b), [0, 1, 8, 27, 64]);
  } finally {
    await pool.terminate();
  }
});

test('an endless generator with break after N results finishes in bounded time and reads a bounded amount', T, async () => {
  const pool = new Pool(2);
  try {
    let read = 0;
    let closed = false;
    function* naturals() {
      try {
        for (let i = 0; ; i++) {
          read += 1;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const got: number[] = [];
    for await (const y of pool.imap(cube, naturals())) {
      got.push(y);
      if (got.length === 25) break;
    }
    assert.deepEqual(got, range(25).map((x) => x ** 3));
    assert.equal(closed, true, 'break closes the input');
    assert.ok(read < 25 + 100, `read ${read} items for 25 results`);

    read = 0;
    const unordered: number[] = [];
    for await (const y of pool.imapUnordered(cube, naturals(), 4)) {
      unordered.push(y);
      if (unordered.length === 30) break;
    }
    assert.equal(unordered.length, 30);
    assert.ok(read < 30 + 200, `read ${read} items for 30 results`);
    // The pool still works after the abandoned iterations.
    assert.equal(await pool.apply(cube, [3]), 27);
  } finally {
    await pool.terminate();
  }
});

test('imap reads its input lazily: a slow consumer does not make it read everything', T, async () => {
  const pool = new Pool(2);
  try {
    let read = 0;
    function* counted() {
      for (let i = 0; i < 10_000; i++) {
        read += 1;
        yield i;
      }
    }
    const it = pool.imap(identity, counted());
    // Every result takes round trips to a worker, time enough for an eager reader to run far ahead:
    // after each one, what was read stays within the window (2 workers × 4 chunks) past what was delivered.
    for (let i = 0; i < 20; i++) {
      assert.deepEqual(await it.next(), { done: false, value: i });
      assert.ok(read <= i + 1 + 8 + 1, `read ${read} of 10000 items after ${i + 1} results`);
    }
    await it.return!();
  } finally {
    await pool.terminate();
  }
});

test('imap onProgress counts items, with total undefined', T, async () => {
  const pool = new Pool(2);
  try {
    const progress: [number, number | undefined][] = [];
    const it = pool.imap(cube, range(6), 2, { onProgress: (d, t) => progress.push([d, t]) });
    assert.deepEqual(await collect(it), range(6).map((x) => x ** 3));
    assert.deepEqual(progress.at(-1), [6, undefined]);
    assert.equal(progress.length, 3);
  } finally {
    await pool.terminate();
  }
});
