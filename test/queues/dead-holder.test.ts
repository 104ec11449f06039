// Queues and pipes whose internal lock or pipe end was held by a process that died (issue 10): a
// producer stopped in the middle of `put` must not leave the queue stuck, a timeout must bound every
// wait (the internal locks too), and a pipe end held only by a dead process reads as closed.
import assert from 'node:assert/strict';
import { Empty, EOFError, Full } from '../../src/index.js';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { dieAfterCommit, dieAfterTakeCommit, dieMidPut, holdPipeEnd, holdRingLock, putBigForever } from '../fixtures/sync/dying.js';
import { assertTimed, timed } from '../fixtures/sync/run.js';
import { within } from '../fixtures/until.js';
import { until } from '../fixtures/until.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { fileURLToPath } from 'node:url';

const { JoinableQueue, Pipe, Process, Queue, RawValue } = ctx;

const T = { timeout: 60_000 };
const PUT_LOCK = 0;
const GET_LOCK = 32;

async function startHolder(target: Function, args: unknown[], flag: mp.RawValue<'i'>): Promise<mp.Process> {
  const p = new Process({ target: target as (...a: unknown[]) => unknown, args });
  p.start();
  await until('the worker holds it', () => flag.value !== 0 || p.exitCode !== null, 30_000);
  assert.equal(p.exitCode, null, 'the holder is still running');
  return p;
}

test('put(x, true, t) behind a held put lock throws Full after t; get(true, t) behind a held get lock throws Empty', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>();
  q.put(1);
  const putFlag = new RawValue('i', 0);
  const putHolder = await startHolder(holdRingLock, [q, PUT_LOCK, putFlag], putFlag);
  const [putError, putMs] = timed(() => {
    try {
      q.put(2, true, 200);
      return null;
    } catch (error) {
      return error;
    }
  });
  assert.ok(putError instanceof Full, 'Full, not a hang');
  assertTimed(putMs, 200);
  await assert.rejects(q.putAsync(2, 200), Full);
  const getFlag = new RawValue('i', 0);
  const getHolder = await startHolder(holdRingLock, [q, GET_LOCK, getFlag], getFlag);
  const [getError, getMs] = timed(() => {
    try {
      return q.get(true, 200);
    } catch (error) {
      return error;
    }
  });
  assert.ok(getError instanceof Empty, 'Empty, not a hang');
  assertTimed(getMs, 200);
  await assert.rejects(q.getAsync(200), Empty);
  putHolder.terminate();
  getHolder.terminate();
  await putHolder.join();
  await getHolder.join();
  // Both locks come back: the queue works as before, nothing lost or doubled.
  q.put(2, true, 10_000);
  assert.equal(q.get(true, 10_000), 1);
  assert.equal(q.get(true, 10_000), 2);
  assert.throws(() => q.getNowait(), Empty);
});

test('a producer that died mid-put (record written, not published): the record never appears, the queue goes on', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<string>();
  q.put('before');
  const flag = new RawValue('i', 0);
  const p = await startHolder(dieMidPut, [q, flag], flag);
  p.kill();
  await p.join();
  q.put('after', true, 10_000);
  assert.equal(q.qsize(), 2);
  assert.equal(q.get(true, 10_000), 'before');
  assert.equal(q.get(true, 10_000), 'after');
  assert.throws(() => q.getNowait(), Empty);
});

test('a producer that died right after publishing: the record is delivered once, and the next put does not overwrite it', { ...T, ...needsSharedMemory }, async () => {
  const q = new JoinableQueue<string>();
  const flag = new RawValue('i', 0);
  const p = await startHolder(dieAfterCommit, [q, 'committed', flag], flag);
  p.terminate();
  await p.join();
  await q.putAsync('after', 10_000);
  q.put('last');
  assert.deepEqual([q.get(), q.get(), q.get()], ['committed', 'after', 'last']);
  assert.throws(() => q.getNowait(), Empty);
  for (let i = 0; i < 3; i++) q.taskDone();
  assert.equal(q.join(0), true, 'the published record counts once as unfinished');
});

test('a consumer that died right after taking a record: the next get returns the one after it, not it again', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<string>();
  for (const item of ['taken by the dead', 'second', 'third']) q.put(item);
  const flag = new RawValue('i', 0);
  const p = await startHolder(dieAfterTakeCommit, [q, flag], flag);
  p.terminate();
  await p.join();
  assert.equal(q.qsize(), 2);
  assert.equal(q.get(true, 10_000), 'second');
  q.put('fourth');
  assert.deepEqual([q.get(), q.get()], ['third', 'fourth']);
  assert.throws(() => q.getNowait(), Empty);
});

test('a producer of big items terminated at an arbitrary point of put: every item arrives whole, in order, once', { ...T, ...needsSharedMemory }, async () => {
  const size = 1 << 20;
  for (let round = 0; round < 3; round++) {
    const q = new Queue<Uint8Array>();
    const flag = new RawValue('i', 0);
    const p = new Process({ target: putBigForever, args: [q, size, flag] });
    p.start();
    await until('the producer is well into its puts', () => flag.value >= 3 + round * 5, 30_000);
    p.terminate();
    await p.join();
    const put = flag.value;
    q.put(new Uint8Array(size).fill(0xee), true, 10_000); // the sentinel
    let i = 0;
    for (;;) {
      const item = q.get(true, 10_000);
      assert.equal(item.length, size);
      if (item[0] === 0xee && item.every((b) => b === 0xee) && i >= put) break;
      assert.ok(item.every((b) => b === (i & 0xff)), `item ${i} is whole`);
      i += 1;
    }
    assert.ok(i === put || i === put + 1, `${i} items after ${put} completed puts (one more if it died after publishing)`);
    assert.throws(() => q.getNowait(), Empty);
  }
});

test('Pipe: the only holder of an end is terminated; recv drains what it sent, then EOFError', { ...T, ...needsSharedMemory }, async () => {
  const [parentEnd, childEnd] = Pipe<string>();
  const flag = new RawValue('i', 0);
  const p = await startHolder(holdPipeEnd, [childEnd, flag], flag);
  childEnd.close(); // as Python programs do: only the child holds that end now
  assert.equal(parentEnd.poll(0), true, 'its message is there');
  p.terminate();
  await p.join();
  assert.equal(parentEnd.recv(), 'hello');
  assert.equal(parentEnd.poll(10_000), true, 'the closed end makes poll return');
  assert.throws(() => parentEnd.recv(), EOFError);
  assert.throws(() => parentEnd.send('x'), /Broken pipe/);
});

test('Pipe: recvAsync waiting when the holder of the other end is killed rejects with EOFError', { ...T, ...needsSharedMemory }, async () => {
  const [parentEnd, childEnd] = Pipe<string>();
  const flag = new RawValue('i', 0);
  const p = await startHolder(holdPipeEnd, [childEnd, flag], flag);
  childEnd.close();
  assert.equal(await parentEnd.recvAsync(), 'hello');
  const pending = parentEnd.recvAsync();
  p.kill();
  await assert.rejects(pending, EOFError);
  await p.join();
});

// Nothing but the child keeps such a program alive: once it is gone, the pending recvAsync() must keep
// the program alive itself until it sees the end closed. Before the fix it ended with the await
// unsettled (exit code 13): a child killed before it had revived its end left the handle counted as the
// parent's, and a reader that began waiting while the parent counted it slept with no slice.
for (const how of ['kill', 'terminate']) {
  for (const when of ['early', 'late', 'queued']) {
    test(`Pipe: a program awaiting only recvAsync() while the other end's only holder is stopped (${how}, ${when}) ends with EOFError`, { ...T, ...needsSharedMemory }, async () => {
      const r = await runTs(fileURLToPath(new URL('../fixtures/queues/pipe-holder-dies.ts', import.meta.url)), [how, when], 30_000);
      assert.equal(r.signal, null, 'still running after 30 s');
      assert.equal(r.stdout, `EOFError\nexitCode ${how === 'kill' ? -9 : -15}\n`, r.stderr);
      assert.equal(r.code, 0, r.stderr);
    });
  }
}

test('Pipe: an end still held by a live process stays open when another holder dies', { ...T, ...needsSharedMemory }, async () => {
  const [parentEnd, childEnd] = Pipe<string>();
  const flag = new RawValue('i', 0);
  const p = await startHolder(holdPipeEnd, [childEnd, flag], flag);
  p.terminate();
  await p.join();
  assert.equal(parentEnd.recv(), 'hello');
  assert.equal(parentEnd.poll(100), false, 'the main thread still holds childEnd');
  childEnd.send('from main');
  assert.equal(parentEnd.recv(), 'from main');
  childEnd.close();
  assert.throws(() => parentEnd.recv(), EOFError);
});

test('putAsync/getAsync behind an internal lock held by a live worker: a signal aborts the lock wait, a timeout bounds it; nothing is put or taken', { ...T, ...needsSharedMemory }, async () => {
  const q = new Queue<number>();
  q.put(1);
  const putFlag = new RawValue('i', 0);
  const putHolder = await startHolder(holdRingLock, [q, PUT_LOCK, putFlag], putFlag);
  // 300 ms spans several of the lock wait's slices: the abort lands in a sleep, not before it.
  await assert.rejects(within(q.putAsync(2, { signal: AbortSignal.timeout(300) }), 'an aborted putAsync', 20_000), { name: 'TimeoutError' });
  await assert.rejects(within(q.putAsync(2, { timeout: 200, signal: new AbortController().signal }), 'a timed putAsync', 20_000), Full);
  const getFlag = new RawValue('i', 0);
  const getHolder = await startHolder(holdRingLock, [q, GET_LOCK, getFlag], getFlag);
  await assert.rejects(within(q.getAsync({ signal: AbortSignal.timeout(300) }), 'an aborted getAsync', 20_000), { name: 'TimeoutError' });
  await assert.rejects(within(q.getAsync({ timeout: 200, signal: new AbortController().signal }), 'a timed getAsync', 20_000), Empty);
  putHolder.terminate();
  getHolder.terminate();
  await putHolder.join();
  await getHolder.join();
  // The dead holders' locks are taken over; the aborted waits neither put nor took anything.
  assert.equal(await within(q.getAsync(10_000), 'getAsync after the holders died', 20_000), 1);
  await within(q.putAsync(3, 10_000), 'putAsync after the holders died', 20_000);
  assert.equal(q.get(true, 10_000), 3);
  assert.throws(() => q.getNowait(), Empty);
});
