// No silent loss: a pipe, a SimpleQueue and an unbounded Queue whose bytes reach their limit make the
// producer wait (as a full OS pipe does in Python), never drop a message or misreport the state.
import assert from 'node:assert/strict';
import { Full } from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer, threadOnly } from '../fixtures/context.js';
import { wait } from '../../src/runtime/futex.js';
import { setRingByteLimit } from '../../src/queues/ring.js';
import { putManySimple, sendManyBytes, sendUntilBroken } from '../fixtures/queues/shared-targets.js';

const { Pipe, Process, Queue, SimpleQueue } = ctx;

const T = { timeout: 120_000 };
type Coded = Error & { code?: string };

const SMALL = 1 << 20; // the byte limit of the small rings below
const SIZE = 64 * 1024; // one message: 15 fit in SMALL (each takes SIZE + 4 bytes)
const FIT = Math.floor(SMALL / (SIZE + 4));

function counter(): Int32Array {
  return new Int32Array(sharedBuffer(4));
}

/** Polls `words[0]` until it reaches at least `value` (bounded: a hang fails). */
function waitFor(words: Int32Array, value: number, ms = 30_000): void {
  const deadline = Date.now() + ms;
  for (let seen = Atomics.load(words, 0); seen < value; seen = Atomics.load(words, 0)) {
    assert.ok(Date.now() < deadline, `stuck at ${seen}, waiting for ${value}`);
    wait(words, 0, seen, 100);
  }
}

function withSmallRings<T>(make: () => T): T {
  const previous = setRingByteLimit(SMALL);
  try {
    return make();
  } finally {
    setRingByteLimit(previous);
  }
}

test('sendBytes of 70 × 16 MiB with nobody reading yet: the sender waits at 1 GiB, all 70 arrive', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe<unknown>();
  const sent = counter();
  const size = 16 << 20;
  const p = new Process({ target: sendManyBytes, args: [theirs, 70, size, sent] });
  p.start();
  theirs.close();
  waitFor(sent, 63); // 63 × (16 MiB + 4) fit in 1 GiB: the 64th waits for room
  for (let k = 0; k < 70; k++) {
    const message = mine.recvBytes();
    assert.equal(message.length, size);
    assert.deepEqual([message[0], message[size - 1]], [k & 255, (k + 1) & 255], `message ${k}`);
  }
  assert.throws(() => mine.recvBytes(), (e: Coded) => e.code === 'ERR_MP_EOF');
  await p.join(60_000);
  assert.equal(p.exitCode, 0);
});

test('a pipe at its byte limit: the sender waits, exactly what fits is sent, then every message arrives', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = withSmallRings(() => Pipe<unknown>());
  const sent = counter();
  const p = new Process({ target: sendManyBytes, args: [theirs, 70, SIZE, sent] });
  p.start();
  theirs.close();
  waitFor(sent, FIT);
  assert.equal(Atomics.load(sent, 0), FIT, 'nobody read: no more than fits was sent');
  for (let k = 0; k < 70; k++) assert.equal(mine.recvBytes()[0], k & 255);
  assert.throws(() => mine.recvBytes(), (e: Coded) => e.code === 'ERR_MP_EOF');
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('a SimpleQueue at its byte limit: put waits (it used to throw "handle is closed"), nothing is lost', { ...T, ...needsSharedMemory }, async () => {
  const q = withSmallRings(() => new SimpleQueue<Uint8Array>());
  const sent = counter();
  const p = new Process({ target: putManySimple, args: [q, 70, SIZE, sent] });
  p.start();
  waitFor(sent, FIT);
  for (let k = 0; k < 70; k++) assert.equal(q.get()[0], k & 255);
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(q.empty(), true);
});

test('an unbounded Queue at its byte limit: putNowait raises Full while full() says so; a timed put times out', needsSharedMemory, () => {
  const q = withSmallRings(() => new Queue<Uint8Array>());
  const item = new Uint8Array(SIZE);
  for (let k = 0; k < FIT; k++) q.putNowait(item);
  assert.equal(q.full(), false, 'no put has been refused yet');
  assert.throws(() => q.putNowait(item), (e: Coded) => e instanceof Full && e.code === 'ERR_MP_FULL');
  assert.equal(q.full(), true);
  assert.throws(() => q.put(item, true, 20), Full);
  assert.equal(q.qsize(), FIT);
  q.get();
  assert.equal(q.full(), false);
  q.putNowait(item);
  assert.equal(q.qsize(), FIT);
});

test('a message larger than the limit is refused at once with ERR_MP_MESSAGE_TOO_LARGE', needsSharedMemory, () => {
  const [a, b] = withSmallRings(() => Pipe<unknown>());
  assert.throws(() => a.sendBytes(new Uint8Array(SMALL)), (e: Coded) => e instanceof RangeError && e.code === 'ERR_MP_MESSAGE_TOO_LARGE');
  a.sendBytes(new Uint8Array(3));
  assert.equal(b.recvBytes().length, 3);
});

test('a sender waiting on a full pipe gets Broken pipe when the reader closes', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = withSmallRings(() => Pipe<unknown>());
  const sent = counter();
  const out = counter();
  const p = new Process({ target: sendUntilBroken, args: [theirs, SIZE, sent, out] });
  p.start();
  theirs.close();
  waitFor(sent, FIT);
  mine.close();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
  assert.equal(out[0], 1, 'ERR_MP_BROKEN_PIPE');
});

test('a queue that cannot grow because memory ran out says so (ERR_MP_OUT_OF_MEMORY) and stays usable', { timeout: 20_000, ...needsSharedMemory, ...threadOnly("a ring under 'process' is reserved at its limit up front and never grows") }, () => {
  const q = new Queue<Uint8Array>();
  const grow = Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'grow')!;
  Object.defineProperty(SharedArrayBuffer.prototype, 'grow', {
    ...grow,
    value(): never {
      throw new RangeError('Array buffer allocation failed');
    },
  });
  try {
    assert.throws(() => q.put(new Uint8Array(1 << 20)), (e: Coded) => e.code === 'ERR_MP_OUT_OF_MEMORY' && /out of memory/.test(e.message));
    assert.equal(q.qsize(), 0);
  } finally {
    Object.defineProperty(SharedArrayBuffer.prototype, 'grow', grow);
  }
  q.put(new Uint8Array(1 << 20), true, 1000); // the put lock was released: this neither hangs nor fails
  assert.equal(q.get(false).length, 1 << 20);
});
