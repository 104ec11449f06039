// Pipe and Connection: ping-pong both ways (blocking and async), EOF, poll, bytes with Python's checks.
import assert from 'node:assert/strict';
import { BufferTooShort, Connection, EOFError } from '../../src/index.js';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import { echoBytes, pingPong, pingPongAsync, sendHello } from '../fixtures/queues/targets.js';

const { Pipe, Process } = ctx;

const T = { timeout: 60_000 };
type Coded = Error & { code?: string };

test('send/recv both ways on one thread; messages are never merged', needsSharedMemory, () => {
  const [a, b] = Pipe<unknown>();
  assert.ok(a.readable && a.writable && b.readable && b.writable);
  a.send({ x: 1 });
  a.send([1, 2]);
  b.send('back');
  assert.deepEqual(b.recv(), { x: 1 });
  assert.deepEqual(b.recv(), [1, 2]);
  assert.equal(a.recv(), 'back');
  a.sendBytes(new Uint8Array(0));
  assert.deepEqual(b.recvBytes(), new Uint8Array(0), 'an empty message is a message');
});

test('ping-pong with a worker, blocking on both sides', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe<number>();
  const p = new Process({ target: pingPong, args: [theirs] });
  p.start();
  theirs.close(); // the Python idiom: the parent closes its copy of the child's end
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    mine.send(n);
    n = mine.recv();
  }
  assert.equal(n, 2000);
  mine.send(-1);
  assert.throws(() => mine.recv(), (e: Coded) => e instanceof EOFError && e.code === 'ERR_MP_EOF');
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('ping-pong with a worker, async on both sides', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe<number>();
  const p = new Process({ target: pingPongAsync, args: [theirs] });
  p.start();
  theirs.close(); // else our copy of their end stays open, and EOF never comes (as in Python)
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    mine.send(n);
    n = await mine.recvAsync();
  }
  assert.equal(n, 2000);
  mine.send(-1);
  await assert.rejects(mine.recvAsync(), EOFError);
  await p.join(30_000);
});

test('recv drains what the peer sent, then throws EOFError (the Python tutorial example)', { ...T, ...needsSharedMemory }, async () => {
  const [parentConn, childConn] = Pipe();
  const p = new Process({ target: sendHello, args: [childConn] });
  p.start();
  assert.deepEqual(parentConn.recv(), [42, null, 'hello']);
  await p.join(30_000);
  childConn.close();
  assert.throws(() => parentConn.recv(), EOFError);
  assert.equal(parentConn.poll(), true, 'poll reports EOF as readable');
});

test('poll(): at once without a timeout, after the timeout with one (oracle row 32)', needsSharedMemory, () => {
  const [a, b] = Pipe();
  let t = performance.now();
  assert.equal(a.poll(), false);
  assert.equal(a.poll(-1), false);
  assert.ok(performance.now() - t < 500);
  t = performance.now();
  assert.equal(a.poll(150), false);
  const ms = performance.now() - t;
  assert.ok(ms >= 140 && ms < 1650, `took ${ms} ms`);
  b.send(1);
  assert.equal(a.poll(), true);
  assert.equal(a.poll(null), true);
});

test('sendBytes/recvBytes/recvBytesInto with Python offset and size checks', needsSharedMemory, () => {
  const [a, b] = Pipe();
  const msg = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz');
  a.sendBytes(msg, 3, 4);
  assert.equal(new TextDecoder().decode(b.recvBytes()), 'defg');
  a.sendBytes(msg.buffer, 20);
  assert.equal(new TextDecoder().decode(b.recvBytes()), 'uvwxyz');
  const bad = (fn: () => void, message: string) =>
    assert.throws(fn, (e: Coded) => e instanceof RangeError && e.code === 'ERR_MP_INVALID_ARG' && e.message === message);
  bad(() => a.sendBytes(msg, -1), 'offset is negative');
  bad(() => a.sendBytes(msg, 27), 'buffer length < offset');
  bad(() => a.sendBytes(msg, 0, -1), 'size is negative');
  bad(() => a.sendBytes(msg, 26, 1), 'buffer length < offset + size');
  bad(() => b.recvBytes(-1), 'negative maxlength');

  a.sendBytes(new Uint8Array([1, 2, 3]));
  const into = new Uint8Array(8);
  assert.equal(b.recvBytesInto(into, 5), 3);
  assert.deepEqual([...into], [0, 0, 0, 0, 0, 1, 2, 3]);
  bad(() => b.recvBytesInto(into, -1), 'negative offset');
  bad(() => b.recvBytesInto(into, 9), 'offset too large');
  a.sendBytes(new Uint8Array([9, 9, 9, 9]));
  assert.throws(
    () => b.recvBytesInto(new Uint8Array(6), 3),
    (e: unknown) => e instanceof BufferTooShort && e.code === 'ERR_MP_BUFFER_TOO_SHORT' && (e.args[0] as Uint8Array).length === 4,
  );

  a.sendBytes(new Uint8Array(10));
  assert.throws(() => b.recvBytes(5), (e: Coded) => e.code === 'ERR_MP_BAD_MESSAGE_LENGTH' && e.message === 'bad message length');
  assert.ok(b.closed, 'as in Python, the connection is closed after a bad message length');
});

test('a 16 MB byte message round-trips through a worker', { ...T, ...needsSharedMemory }, async () => {
  const [mine, theirs] = Pipe();
  const p = new Process({ target: echoBytes, args: [theirs] });
  p.start();
  const big = new Uint8Array(16 << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  mine.sendBytes(big);
  const back = await mine.recvBytesAsync();
  assert.equal(back.length, big.length);
  assert.deepEqual(back, big);
  mine.close();
  await p.join(30_000);
  assert.equal(p.exitCode, 0);
});

test('misuse: closed handles, one-way pipes, a closed peer, new Connection()', needsSharedMemory, () => {
  const [r, w] = Pipe(false);
  assert.ok(r.readable && !r.writable && w.writable && !w.readable);
  assert.throws(() => r.send(1), (e: Coded) => e.code === 'ERR_MP_READ_ONLY' && e.message === 'connection is read-only');
  assert.throws(() => w.recv(), (e: Coded) => e.code === 'ERR_MP_WRITE_ONLY' && e.message === 'connection is write-only');
  w.send('one-way');
  assert.equal(r.recv(), 'one-way');
  w.close();
  w.close(); // a second close is a no-op
  assert.ok(w.closed);
  assert.throws(() => w.send(1), (e: Coded) => e.code === 'ERR_MP_HANDLE_CLOSED' && e.message === 'handle is closed');
  assert.throws(() => r.recv(), EOFError);
  const [a, b] = Pipe();
  b.close();
  assert.throws(() => a.send(1), (e: Coded) => e.code === 'ERR_MP_BROKEN_PIPE');
  assert.throws(() => new Connection(), TypeError);
  {
    using scoped = Pipe()[0];
    assert.ok(!scoped.closed);
  }
});

test("a worker's copy closes when the worker exits, so the parent sees EOF", { ...T, ...needsSharedMemory }, async () => {
  const { sendAndForget } = await import('../fixtures/queues/targets.js');
  const [mine, theirs] = Pipe<string>();
  const p = new Process({ target: sendAndForget, args: [theirs] });
  p.start();
  theirs.close();
  assert.equal(await mine.recvAsync(), 'bye');
  await p.join(30_000);
  assert.throws(() => mine.recv(), EOFError);
});
