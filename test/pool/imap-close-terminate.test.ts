// An imap already started when the pool is closed delivers every result, as Python's does (close means no
// new calls); after terminate(), every next() settles. Issue 10: both hung before.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';
import { cube, identity } from '../fixtures/pool/tasks.js';
import { within } from '../fixtures/until.js';

const { Pool } = ctx;

const T = { timeout: 30_000 };
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function collect<R>(it: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('imap, then close(), then iterate: every result arrives, and join() settles after', T, async () => {
  const pool = new Pool(2);
  try {
    const ordered = pool.imap(cube, range(40));
    const unordered = pool.imapUnordered(cube, range(40), 3);
    pool.close();
    assert.deepEqual(await within(collect(ordered), 'the ordered imap after close()'), range(40).map((x) => x ** 3));
    const got = await within(collect(unordered), 'the unordered imap after close()');
    assert.deepEqual(got.sort((a, b) => a - b), range(40).map((x) => x ** 3));
    await within(pool.join(), 'join() after the imaps ended');
  } finally {
    await pool.terminate();
  }
});

test('imap over a slow async input, closed after the first result: the rest of the input still runs', T, async () => {
  const pool = new Pool(2);
  try {
    async function* slowInput() {
      for (let i = 0; i < 12; i++) {
        // An input that arrives slowly by nature (a network stream, say): long enough for idle workers
        // of a closed pool to have left, were it not for this imap.
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 40));
        yield i;
      }
    }
    const it = pool.imap(cube, slowInput());
    assert.deepEqual(await within(it.next(), 'the first result'), { done: false, value: 0 });
    pool.close();
    const rest = await within(collect(it), 'the rest of the imap after close()');
    assert.deepEqual(rest, range(12).slice(1).map((x) => x ** 3));
    await within(pool.join(), 'join()');
  } finally {
    await pool.terminate();
  }
});

test('imap, close(), join() before anyone iterates (as in Python): join settles, then every result is there', T, async () => {
  const pool = new Pool(2);
  try {
    const it = pool.imap(identity, range(100), 7);
    pool.close();
    await within(pool.join(), 'join() with an imap nobody iterates yet');
    assert.deepEqual(await within(collect(it), 'the imap after join()'), range(100));
  } finally {
    await pool.terminate();
  }
});

test('imap over an endless input, terminate() mid-iteration: every later next() settles, then done', T, async () => {
  const pool = new Pool(2);
  let closed = false;
  function* naturals() {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      closed = true;
    }
  }
  const quick = pool.imap(identity, naturals());
  assert.deepEqual(await within(quick.next(), 'the first result'), { done: false, value: 0 });
  // Chunks that are still running (or queued) when the pool is terminated.
  const slow = pool.imapUnordered((x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 60_000)), range(50));
  const pending = slow.next();
  pending.catch(() => {});
  await pool.terminate();
  await assert.rejects(pending, { code: 'ERR_MP_POOL_TERMINATED' });
  assert.equal(closed, true, 'terminate() closes the input, as break would');
  for (const iterator of [quick, slow]) {
    const outcomes: string[] = [];
    for (let calls = 0; calls < 200; calls++) {
      const step = await within(iterator.next(), `next() call ${calls} after terminate()`).then(
        (s) => (s.done ? 'done' : 'value'),
        (e: { code?: string }) => String(e.code),
      );
      outcomes.push(step);
      if (step === 'done') break;
    }
    // Items read before terminate() settle in order: a value if their chunk had finished, else the
    // termination error; then the termination error once more for the input that was cut off; then done.
    const text = outcomes.join(',');
    assert.equal(outcomes.at(-1), 'done', text);
    assert.equal(outcomes.at(-2), 'ERR_MP_POOL_TERMINATED', text);
    assert.ok(outcomes.every((o) => o === 'value' || o === 'ERR_MP_POOL_TERMINATED' || o === 'done'), text);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  }
});

test('an imap created but never iterated, then terminate(): its first next() rejects, then done', T, async () => {
  const pool = new Pool(1);
  const it = pool.imap(cube, range(10));
  await pool.terminate();
  await assert.rejects(within(it.next(), 'next() after terminate()'), { code: 'ERR_MP_POOL_TERMINATED' });
  assert.deepEqual(await within(it.next(), 'the second next()'), { done: true, value: undefined });
});

// An input that yields `first`, then waits until `go()` is called (a stream whose next item is not there
// yet), then yields `rest`. `closed` tells whether its `finally` ran.
function gatedInput(first: number[], rest: number[]) {
  let go!: () => void;
  const gate = new Promise<void>((resolve) => (go = resolve));
  const state = { closed: false };
  async function* input() {
    try {
      yield* first;
      await gate;
      yield* rest;
    } finally {
      state.closed = true;
    }
  }
  return { input: input(), go, state };
}

test('imap and imapUnordered over an input that waits: the results of the items given so far arrive meanwhile', T, async () => {
  // Once, the whole window (8 chunks) had to be read before a result was handed out.
  const pool = new Pool(2);
  try {
    for (const method of ['imap', 'imapUnordered'] as const) {
      const { input, go } = gatedInput([1, 2], [3]);
      const it = pool[method](cube, input);
      const firstTwo = [await within(it.next(), `${method}: the first result while the input waits`), await within(it.next(), `${method}: the second`)];
      assert.deepEqual(firstTwo.map((r) => r.value).sort(), [1, 8]);
      go();
      assert.deepEqual(await within(collect(it), `${method}: the rest`), [27]);
    }
  } finally {
    await pool.terminate();
  }
});

test('next() called several times without awaiting: each call gets its own item', T, async () => {
  const pool = new Pool(2);
  try {
    const { input, go } = gatedInput([1], [2, 3, 4]);
    const it = pool.imap(cube, input);
    const calls = [it.next(), it.next(), it.next(), it.next(), it.next()];
    go();
    const results = await within(Promise.all(calls), 'five next() calls at once');
    assert.deepEqual(results, [
      { done: false, value: 1 },
      { done: false, value: 8 },
      { done: false, value: 27 },
      { done: false, value: 64 },
      { done: true, value: undefined },
    ]);
  } finally {
    await pool.terminate();
  }
});

test('terminate() while map, imap and imapUnordered read an input that waits forever: every call settles', T, async () => {
  const pool = new Pool(2);
  const inputs = [gatedInput([1, 2], [3]), gatedInput([1, 2], [3]), gatedInput([1, 2], [3])];
  const mapped = pool.map(cube, inputs[0]!.input);
  const ordered = pool.imap(cube, inputs[1]!.input);
  const unordered = pool.imapUnordered(cube, inputs[2]!.input);
  assert.deepEqual(await within(ordered.next(), 'the first imap result'), { done: false, value: 1 });
  await within(unordered.next(), 'the first imapUnordered result');
  await pool.terminate();
  const terminated = (e: unknown) => (e as { code?: string }).code === 'ERR_MP_POOL_TERMINATED';
  await assert.rejects(within(mapped, 'the map after terminate()'), terminated);
  // Each next() then hands out what had finished, or rejects with the termination (the items in flight,
  // then the input's end), until the imap is done.
  for (const it of [ordered, unordered]) {
    const outcomes: string[] = [];
    for (let calls = 0; ; calls++) {
      assert.ok(calls < 10, `the imap did not end after terminate(): ${outcomes.join(', ')}`);
      const step = await within(it.next().then((r) => (r.done === true ? 'done' : 'value'), (e: unknown) => (terminated(e) ? 'terminated' : String(e))), 'next() after terminate()');
      outcomes.push(step);
      if (step === 'done') break;
    }
    assert.ok(outcomes.includes('terminated'), outcomes.join(', '));
    assert.ok(outcomes.every((o) => o === 'value' || o === 'terminated' || o === 'done'), outcomes.join(', '));
  }
});

test('map over an async input, then close() and join() while the input is read: every result arrives', T, async () => {
  const pool = new Pool(2);
  try {
    const { input, go, state } = gatedInput([1, 2], [3, 4]);
    const mapped = pool.map(cube, input);
    pool.close();
    const joined = pool.join();
    go();
    assert.deepEqual(await within(mapped, 'the map after close()'), [1, 8, 27, 64]);
    await within(joined, 'join() after the map');
    assert.equal(state.closed, true);
  } finally {
    await pool.terminate();
  }
});
