// apply's `transfer` list is checked at the call: a SharedArrayBuffer is simply shared, anything that
// cannot move is a TypeError naming transfer[i]. Issue 10: Node's ERR_INVALID_TRANSFER_OBJECT was thrown
// from inside the scheduler, uncaught, and killed the program.
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { ctx, startMethod, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { cube, writeFirst } from '../fixtures/pool/tasks.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('a SharedArrayBuffer in transfer is shared, not moved: the worker writes, the caller sees it', { ...T, ...needsSharedMemory }, async () => {
  const pool = new Pool(1);
  try {
    const shared = sharedBuffer(16);
    const view = new Int32Array(shared);
    assert.equal(await pool.apply(writeFirst, [view, 42], { transfer: [shared] }), 4);
    assert.equal(view[0], 42);
    assert.equal(shared.byteLength, 16);
    // A moved buffer and a shared one in the same list.
    const moved = new Int32Array(8);
    assert.equal(await pool.apply(writeFirst, [moved, 1], { transfer: [shared, moved.buffer] }), 8);
    assert.equal(moved.buffer.byteLength, 0, 'the ArrayBuffer moved into the worker');
  } finally {
    await pool.terminate();
  }
});

test('anything else that cannot move is a TypeError naming transfer[i]; the pool stays usable', T, async () => {
  const pool = new Pool(1);
  try {
    const buffer = new ArrayBuffer(8);
    const cases: [unknown, RegExp][] = [
      [[5], /^transfer\[0\] must be an ArrayBuffer or a MessagePort .*, not number 5$/],
      [[buffer, {}], /^transfer\[1\] must be an ArrayBuffer or a MessagePort .*, not an object/],
      [[new Float64Array(2)], /^transfer\[0\] is a Float64Array: list its \.buffer instead$/],
      [[buffer, buffer], /^transfer\[1\] is listed twice$/],
      [buffer, /^transfer must be an array of ArrayBuffers and MessagePorts, not an object/],
    ];
    for (const [transfer, message] of cases) {
      await assert.rejects(pool.apply(cube, [2], { transfer: transfer as never }), (e: Error & { code?: string }) =>
        e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && message.test(e.message));
    }
    assert.equal(buffer.byteLength, 8, 'nothing moved');
    await assert.rejects(pool.map(cube, [1], 1, { transfer: [buffer] }), /transfer is for apply\(\) and applyAsync\(\) only/);
    assert.equal(await pool.apply(cube, [3]), 27);
  } finally {
    await pool.terminate();
  }
});

test("a MessagePort can be transferred to a task; a 'process' worker refuses it, failing that task only", T, async () => {
  const pool = new Pool(1);
  try {
    const { port1, port2 } = new MessageChannel();
    if (startMethod === 'process') {
      const send = (port: unknown) => port;
      await assert.rejects(
        pool.apply(send, [port1], { transfer: [port1] }),
        (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && /MessagePort cannot move into another OS process/.test(e.message),
      );
      assert.equal(await pool.apply(cube, [3]), 27);
      port1.close();
      port2.close();
      return;
    }
    const received = new Promise((resolve) => port2.once('message', resolve));
    const send = (port: import('node:worker_threads').MessagePort) => {
      port.postMessage('hello from the worker');
      port.close();
      return 1;
    };
    assert.equal(await pool.apply(send, [port1], { transfer: [port1] }), 1);
    assert.equal(await received, 'hello from the worker');
    port2.close();
  } finally {
    await pool.terminate();
  }
});
