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
