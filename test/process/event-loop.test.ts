// A child ends as a Node program does: when its target has returned and nothing is left on its event
// loop, or at process.exit. Python's child likewise waits for its non-daemon threads before it exits.
import assert from 'node:assert/strict';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory } from '../fixtures/context.js';
import {
  echoServer,
  exitFromTimer,
  leaveDaemonGrandchild,
  leavePoolOpen,
  leaveUnrefInterval,
  lookUpFunction,
  setExitCodeThenWork,
  setLater,
  tickForever,
} from '../fixtures/process/targets.js';
import { until } from '../fixtures/until.js';

const { Process, Value } = ctx;

const T = { timeout: 30_000 };

// Joins with a bound: a child that never ends fails the test instead of stalling it.
async function joinBounded(p: Pick<mp.Process, 'join' | 'exitCode' | 'terminate'>): Promise<void> {
  await p.join(15_000);
  if (p.exitCode === null) {
    p.terminate();
    await p.join();
    assert.fail('the child was still running after 15 s');
  }
}

test('a timer the target started but did not await still runs; exitCode 0', { ...T, ...needsSharedMemory }, async () => {
  const value = new Value('i', 0);
  const p = new Process({ target: setLater, args: [value] });
  p.start();
  await joinBounded(p);
  assert.equal(value.value, 1);
  assert.equal(p.exitCode, 0);
});

test('an unref\'d interval left behind does not keep the child alive; exitCode 0', { ...T, ...needsSharedMemory }, async () => {
  const ticks = new Value('i', 0);
  const p = new Process({ target: leaveUnrefInterval, args: [ticks] });
  p.start();
  await joinBounded(p);
  assert.equal(p.exitCode, 0);
});

test('a ref\'d interval left behind keeps the child alive, as it keeps a program alive', { ...T, ...needsSharedMemory }, async () => {
  const ticks = new Value('i', 0);
  const p = new Process({ target: tickForever, args: [ticks] });
  p.start();
  try {
    // Ticks after the target returned prove the child outlived it; it is still alive now.
    await until('3 ticks of the interval', () => ticks.value >= 3);
    assert.equal(p.isAlive(), true);
  } finally {
    p.terminate();
    await p.join(15_000);
  }
  assert.equal(p.exitCode, -15);
});

test('process.exitCode = 3 in the target: the child ends after its timer with exitCode 3', { ...T, ...needsSharedMemory }, async () => {
  const value = new Value('i', 0);
  const p = new Process({ target: setExitCodeThenWork, args: [3, value] });
  p.start();
  await joinBounded(p);
  assert.equal(value.value, 1);
  assert.equal(p.exitCode, 3);
});

test('process.exit(5) from a timer after the target returned: exitCode 5', T, async () => {
  const p = new Process({ target: exitFromTimer, args: [5] });
  p.start();
  await joinBounded(p);
  assert.equal(p.exitCode, 5);
});

test('a server and a client started without awaiting run to the end', { ...T, ...needsSharedMemory }, async () => {
  const value = new Value('i', 0);
  const p = new Process({ target: echoServer, args: [value] });
  p.start();
  await joinBounded(p);
  assert.equal(value.value, 'hello'.length);
  assert.equal(p.exitCode, 0);
});

test('the library keeps nothing alive: a target that used the inspector lookup ends', T, async () => {
  const p = new Process({ target: lookUpFunction });
  p.start();
  await joinBounded(p);
  assert.equal(p.exitCode, 0);
});

test('a pool the target used and left open does not keep the child alive', { ...T, ...needsSharedMemory }, async () => {
  const result = new Value('i', 0);
  const p = new Process({ target: leavePoolOpen, args: [result] });
  p.start();
  await joinBounded(p);
  assert.equal(result.value, 42);
  assert.equal(p.exitCode, 0);
});

test('a daemon grandchild still running does not keep the child alive', T, async () => {
  const p = new Process({ target: leaveDaemonGrandchild });
  p.start();
  await joinBounded(p);
  assert.equal(p.exitCode, 0);
});
