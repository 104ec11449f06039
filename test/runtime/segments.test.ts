// The process-shared allocator and registry (runtime/process/segments.ts) and the futex dispatch of
// runtime/futex.ts: memory from memfd arenas that other processes map, one mapping per (segment, offset)
// and thread, fds closed once nothing needs them, and waits on that memory through futex(2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNative } from '../../src/runtime/process/native.js';
import {
  type SegmentRef,
  ARENA_BYTES,
  ARENA_OBJECT_MAX,
  allocateProcessShared,
  isProcessShared,
  reduceShared,
  reviveSegment,
  segmentRefOf,
  segmentStats,
} from '../../src/runtime/process/segments.js';
import { allocateAcrossProcesses } from '../../src/runtime/shared-memory.js';
import { CHILD_CHANNEL_FD, prepareChildChannel } from '../../src/runtime/process/channel.js';
import { notify, wait, waitAsync } from '../../src/runtime/futex.js';
import { EMPTY, OK, Ring } from '../../src/queues/ring.js';
import { GATE } from '../fixtures/segments/layout.js';
import { until, within } from '../fixtures/until.js';
import { runTs } from '../fixtures/process/subprocess.js';

const here = dirname(fileURLToPath(import.meta.url));
const childScript = join(here, '../fixtures/segments/child.ts');

// Bun (JavaScriptCore) has no V8 flags: its own full collection instead.
declare const Bun: { gc(force: boolean): void } | undefined;
const gc: () => void =
  typeof Bun !== 'undefined' ? () => Bun!.gc(true) : (setFlagsFromString('--expose-gc'), runInNewContext('gc') as () => void);

function addon() {
  const loaded = loadNative();
  assert.ok(loaded.native, `the native addon is needed by these tests: ${loaded.reason}`);
  return loaded.native;
}

function startChild(role: string, fd?: number): ChildProcess {
  const stdio: (number | string)[] = ['ignore', 'inherit', 'inherit', 'ipc'];
  if (fd !== undefined) stdio[CHILD_CHANNEL_FD] = fd;
  return fork(childScript, [role], { execArgv: ['--import', 'tsx'], stdio: stdio as ('ipc' | 'inherit' | 'ignore')[] });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function message(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before it sent a message`)));
  });
}

/** This process's open memfds of the allocator (arenas and own segments). */
function openSegments(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:multiprocessing')) count++;
    } catch {
      // The fd of readdir itself, closed by now.
    }
  }
  return count;
}

test('small buffers share an arena at page-aligned offsets; large and growable ones get their own segment', () => {
  const native = addon();
  const a = allocateProcessShared(native, 8);
  const b = allocateProcessShared(native, 100);
  assert.equal(a.byteLength, 8);
  assert.equal(b.byteLength, 100);
  assert.ok(a instanceof SharedArrayBuffer);
  const refA = segmentRefOf(a)!;
  const refB = segmentRefOf(b)!;
  assert.equal(refB.segment, refA.segment, 'one arena');
  assert.equal(refB.byteOffset, refA.byteOffset + native.pageSize);
  assert.deepEqual([...new Uint8Array(b)], new Array(100).fill(0));
  new Uint8Array(a).fill(1);
  assert.equal(new Uint8Array(b)[0], 0, 'separate memory');

  const large = allocateProcessShared(native, ARENA_OBJECT_MAX + 1);
  assert.notEqual(segmentRefOf(large)!.segment, refA.segment);
  assert.equal(segmentRefOf(large)!.byteOffset, 0);
  // A ring asks for a growable buffer: it gets its limit, reserved (sparse), and never grows.
  const ring = allocateAcrossProcesses(64 * 1024, 1 << 30);
  assert.equal(ring.byteLength, 1 << 30);
  assert.equal(ring.growable, false);
  new Uint8Array(ring)[(1 << 30) - 1] = 7;
  assert.equal(isProcessShared(new Int32Array(ring)), true);
  assert.equal(isProcessShared(new Int32Array(new SharedArrayBuffer(8))), false);
});

test('an arena holds ARENA_BYTES of slots; the next small buffer opens a new one', () => {
  const native = addon();
  const first = segmentRefOf(allocateProcessShared(native, 1))!;
  const slots = (ARENA_BYTES - first.byteOffset) / native.pageSize;
  const kept: SharedArrayBuffer[] = [];
  for (let i = 1; i < slots; i++) kept.push(allocateProcessShared(native, 1));
  assert.equal(segmentRefOf(kept.at(-1)!)!.segment, first.segment);
  assert.equal(segmentRefOf(kept.at(-1)!)!.byteOffset, ARENA_BYTES - native.pageSize);
  const next = segmentRefOf(allocateProcessShared(native, 1))!;
  assert.notEqual(next.segment, first.segment);
  assert.equal(next.byteOffset, 0);
});

test('reviving a reference in the thread that has it gives back the same buffer', () => {
  const buffer = allocateAcrossProcesses(16, undefined);
  assert.equal(reviveSegment(segmentRefOf(buffer)!), buffer);
  assert.equal(segmentRefOf(new SharedArrayBuffer(4)), undefined);
});

test('futex.ts keeps Atomics for thread memory and uses futex(2) for process-shared memory', async () => {
  const native = addon();
  const local = new Int32Array(new SharedArrayBuffer(8));
  const shared = new Int32Array(allocateAcrossProcesses(8, undefined));
  assert.equal(wait(local, 0, 0, 1), 'timed-out');
  assert.equal(wait(shared, 0, 0, 1), 'timed-out');
  assert.equal(wait(shared, 0, 1, 1), 'not-equal');
  // A wake through futex.ts reaches a waiter of the addon, and not one of Atomics, on the same memory.
  const pending = native.futexWaitAsync(shared, 1, 0, 30_000);
  await until('the addon wait is asleep', () => notify(shared, 1, 1) === 1);
  assert.equal(await within(pending, 'the addon wait ends'), 'ok');
  const aborted = new AbortController();
  const abandoned = waitAsync(shared, 1, 0, Infinity, aborted.signal);
  aborted.abort(new Error('stop'));
  await assert.rejects(abandoned, { message: 'stop' });
  assert.equal(await waitAsync(shared, 1, 0, 1), 'timed-out');
});

test('a child maps a reference through /proc and its async wait is woken from here', async () => {
  const words = new Int32Array(allocateAcrossProcesses(4, undefined));
  const child = startChild('wait');
  try {
    child.send({ ref: segmentRefOf(words.buffer as SharedArrayBuffer) });
    assert.equal(await within(message(child), 'the child waits', 30_000), 'waiting');
    const outcome = message(child);
    await until('the child is asleep on the word', () => notify(words, 0) === 1, 30_000);
    assert.equal(await within(outcome, 'the child reports its wait'), 'ok');
    assert.equal(await within(exited(child), 'the child exits'), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('four child processes × 20,000 increments of one int32 under the library mutex: exactly 80,000', async () => {
  const increments = 20_000;
  const words = new Int32Array(allocateAcrossProcesses(4 * 4, undefined));
  const children = Array.from({ length: 4 }, () => startChild('count'));
  try {
    const ref = segmentRefOf(words.buffer as SharedArrayBuffer);
    for (const child of children) child.send({ ref, increments });
    await until('all four children are at the gate', () => Atomics.load(words, GATE.ready) === 4, 60_000);
    Atomics.store(words, GATE.go, 1);
    notify(words, GATE.go);
    const codes = await within(Promise.all(children.map(exited)), 'the children finish counting', 120_000);
    assert.deepEqual(codes, [0, 0, 0, 0]);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
  assert.equal(words[GATE.counter], 4 * increments);
  assert.equal(Atomics.load(words, GATE.mutex), 0, 'released');
});

test('1,000 buffers created and dropped leave no memfd open: arenas and own segments are closed after GC', async () => {
  const native = addon();
  // Start from a fresh arena, so that every arena of this test fills and is retired.
  for (let i = 0; i < ARENA_BYTES / native.pageSize; i++) allocateProcessShared(native, 1);
  gc();
  const before = openSegments();
  const baseline = segmentStats();
  let touched = 0;
  for (let i = 0; i < 1_000; i++) {
    const buffer = allocateProcessShared(native, i % 10 === 0 ? ARENA_OBJECT_MAX + 4096 : 8 + i);
    new Uint8Array(buffer)[0] = 1;
    touched += new Uint8Array(buffer)[0]!;
  }
  assert.equal(touched, 1_000);
  assert.ok(openSegments() > before + 2, 'the buffers held memfds while alive');
  await until(
    'every memfd of the dropped buffers is closed',
    () => {
      gc();
      // The arena now current stays open for the next small buffer: at most one more than before.
      return openSegments() <= before + 1 && segmentStats().buffers <= baseline.buffers;
    },
    20_000,
  );
});

test('segments made after fork cross both ways over the channel (SCM_RIGHTS); duplicates and unused fds are closed', async () => {
  const prepared = prepareChildChannel();
  let child: ChildProcess;
  try {
    child = startChild('channel', prepared.childFd);
  } catch (error) {
    prepared.abandon();
    throw error;
  }
  const channel = prepared.attach();
  try {
    // pid 0: the child cannot reopen these through /proc, so the channel must have brought them.
    const write = async (buffers: SharedArrayBuffer[], value: number) => {
      const refs = buffers.map(reduceShared);
      channel.send(refs);
      child.send({ op: 'write', refs: refs.map((ref) => ({ ...ref, pid: 0 })), value });
      return (await within(message(child), 'the child writes', 30_000)) as { again: boolean[]; open: number };
    };
    const small = allocateAcrossProcesses(8, undefined);
    const large = allocateAcrossProcesses(ARENA_OBJECT_MAX * 2, undefined);
    const first = await write([small], 1);
    assert.deepEqual([new Int32Array(small)[0], first.again], [1, [false]]);
    const second = await write([large, large], 2);
    assert.deepEqual([new Int32Array(large)[0], second.again, second.open], [2, [false, false], 2]);
    // Sent again: the child maps nothing new and closes the duplicate fd.
    const third = await write([small], 3);
    assert.deepEqual([new Int32Array(small)[0], third.again, third.open], [3, [true], 2]);

    child.send({ op: 'make' });
    const made = (await within(message(child), 'the child sends a buffer of its own', 30_000)) as { refs: SegmentRef[] };
    channel.receive();
    const theirs = reviveSegment(made.refs[0]!);
    channel.release(made.refs);
    assert.equal(new Int32Array(theirs)[0], 77);
    assert.equal(reviveSegment(made.refs[0]!), theirs, 'one mapping per (segment, offset)');

    assert.throws(() => reduceShared(new SharedArrayBuffer(8)), { name: 'TypeError', code: 'ERR_MP_UNCLONEABLE' });
    child.send({ op: 'exit' });
    assert.equal(await within(exited(child), 'the child exits'), 0);
  } finally {
    channel.close();
    child.kill('SIGKILL');
  }
});

test('a queue ring in process-shared memory: 2 producer processes × 5,000 records, all taken here in order', async () => {
  // The ring as a 'process' Queue will have it: its control words copied from a fresh ring, its data
  // reserved at the ring's byte limit (so it never grows).
  const model = Ring.create(0);
  const ctrl = allocateAcrossProcesses(model.state.ctrl.byteLength, undefined);
  new Int32Array(ctrl).set(model.ctrl);
  const data = allocateAcrossProcesses(model.state.data.byteLength, model.state.data.maxByteLength);
  const ring = new Ring({ ctrl, data });
  const count = 5_000;
  const children = [0, 1].map(() => startChild('produce'));
  try {
    children.forEach((child, id) => child.send({ ctrl: reduceShared(ctrl), data: reduceShared(data), id, count }));
    const next = [0, 0];
    for (let n = 0; n < 2 * count; n++) {
      assert.equal(ring.take(60_000), OK, `record ${n} arrives`);
      const record = new Int32Array(ring.scratch.slice(0, 8).buffer);
      assert.equal(ring.lastLength, 8);
      assert.equal(record[1], next[record[0]!], `producer ${record[0]}'s records in order`);
      next[record[0]!]!++;
    }
    assert.deepEqual(next, [count, count]);
    assert.deepEqual(await within(Promise.all(children.map(exited)), 'the producers exit', 60_000), [0, 0]);
    assert.equal(ring.take(0), EMPTY, 'nothing more');
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
});

test('a program whose last work is an async wait with a wake-up in flight stays until it arrives', async () => {
  addon();
  const r = await runTs(join(here, '../fixtures/segments/wake-in-flight.ts'), [], 30_000);
  assert.equal(r.signal, null, `still running after 30 s:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, `exit ${r.code} (13: it ended with its wait unsettled)\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, 'changed 1\nwoken ok\n');
});

test('aborted async waits, and one whose word changed with no wake-up coming, do not keep the program alive', async () => {
  addon();
  const r = await runTs(join(here, '../fixtures/segments/aborted-waits.ts'), [], 30_000);
  assert.equal(r.signal, null, `still running after 30 s:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, 'rejected with the reason 20\nwaiters left 0\nwaiters left 1\nthe other settled true\nstranded true\n');
});
