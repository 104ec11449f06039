// A shared object made under 'thread' (the default) handed to a 'process' child: its memory is this
// process's only, so it is refused at the call, naming its path and the fix (make it in the 'process'
// context). `new Pool({ context: 'process' })` picks the pool's start method, not its objects'.
import assert from 'node:assert/strict';
import { getContext } from '../../src/index.js';
import { test, needsNativeAddon } from '../fixtures/context.js';
import { identity } from '../fixtures/pool/tasks.js';
import { within } from '../fixtures/until.js';

const T = { timeout: 30_000, ...needsNativeAddon };
const threads = getContext('thread');
const processes = getContext('process');

function refusedAt(path: string, kind: string) {
  return (error: unknown): boolean => {
    const { code, message } = error as { code?: string; message: string };
    assert.equal(code, 'ERR_MP_UNCLONEABLE');
    assert.ok(message.startsWith(`${path} cannot be sent to a process child: it is a ${kind} made for this process only`), message);
    assert.match(message, /getContext\('process'\)/);
    return true;
  };
}

test("a 'thread' object in a 'process' pool's task: refused naming its path, in apply, starmap and map chunks", T, async () => {
  await using pool = new processes.Pool(2);
  const hits = new threads.Value('i', 0);
  await assert.rejects(pool.apply(identity, [{ a: 1, counter: hits }]), refusedAt('args[0].counter', 'Value'));
  await assert.rejects(pool.starmap((a: number, _v: unknown) => a, [[1, 2], [3, hits]]), refusedAt('iterable[1][1]', 'Value'));
  await assert.rejects(pool.map(identity, [1, 2, 3, { lock: new threads.Lock() }], 1), refusedAt('iterable[3].lock', 'Lock'));
  const records = Array.from({ length: 300 }, (_, i) => (i === 250 ? { v: hits } : { v: i }));
  await assert.rejects(pool.map(identity, records), refusedAt('iterable[250].v', 'Value'));
  // The same objects made in the 'process' context cross, and the pool went on.
  const shared = new processes.Value('i', 7);
  assert.equal(await pool.apply((v: { value: number }) => v.value, [shared]), 7);
});

test("a 'thread' object in a 'process' child's args: refused at start(), naming its path", T, () => {
  const hits = new threads.Value('i', 0);
  const child = new processes.Process({ target: (_n: number, _v: unknown) => {}, args: [1, hits] });
  assert.throws(() => child.start(), refusedAt('args[1]', 'Value'));
});

test("a 'thread' object in a 'process' pool's initargs: refused at the pool's start, naming its path", T, () => {
  const hits = new threads.Value('i', 0);
  assert.throws(() => new processes.Pool(1, { initializer: identity, initargs: [hits] }), refusedAt('initargs[0]', 'Value'));
});

// Captured by a function shipped with its module's constants (README, Processes, way 3), a 'thread' object
// is the function's to carry: refused naming the constant. In a pool the refusal comes as the function is
// sent, after the call returned: each task rejects with it (it used to be thrown out of the pool's dispatch,
// an uncaught exception that ended the program), and the pool goes on.
const capturedLock = new threads.Lock();
const capturedHits = new threads.Value('i', 0);

test("a 'thread' object captured by a 'process' pool's task: every pool method rejects, naming the constant; the pool goes on", T, async () => {
  await using pool = new processes.Pool(1);
  await assert.rejects(pool.apply(() => capturedLock.acquire(false), []), refusedAt("fn's constant capturedLock", 'Lock'));
  await assert.rejects(pool.map((x: number) => capturedHits.value + x, [1, 2, 3], 1), refusedAt("fn's constant capturedHits", 'Value'));
  await assert.rejects(pool.starmap((x: number) => capturedHits.value + x, [[1], [2]]), refusedAt("fn's constant capturedHits", 'Value'));
  const read = pool.imap((x: number) => capturedHits.value + x, [1, 2]);
  await assert.rejects(read.next(), refusedAt("fn's constant capturedHits", 'Value'));
  await assert.rejects(read.next(), refusedAt("fn's constant capturedHits", 'Value'));
  const failed = await new Promise((resolve, reject) => {
    pool.applyAsync(() => capturedLock.acquire(false), [], { callback: () => reject(new Error('the task ran')), errorCallback: resolve });
  });
  assert.ok(refusedAt("fn's constant capturedLock", 'Lock')(failed));
  // A barrier made for processes, whose action captured a 'thread' Value: the action's constant is named.
  const barrier = new processes.Barrier(1, { action: () => void (capturedHits.value += 1) });
  await assert.rejects(
    pool.apply((b: { waitAsync(): Promise<number> }) => b.waitAsync(), [barrier]),
    refusedAt("args[0].action's constant capturedHits", 'Value'),
  );
  assert.equal(await pool.apply((x: number) => x * 2, [21]), 42);
  assert.equal(pool.stats().workers.total, 1);
  // The last task refused, the pool closed: its worker retires, and join() settles.
  const last = pool.apply(() => capturedLock.acquire(false), []);
  pool.close();
  await assert.rejects(last, refusedAt("fn's constant capturedLock", 'Lock'));
  await within(pool.join(), 'join() of a closed pool whose last task was refused', 20_000);
});

test("a 'thread' object captured by a 'process' child's target or a pool's initializer: refused at the call, naming the constant", T, () => {
  const child = new processes.Process({ target: () => void (capturedHits.value += 1) });
  assert.throws(() => child.start(), refusedAt("target's constant capturedHits", 'Value'));
  assert.throws(() => new processes.Pool(1, { initializer: () => void capturedLock.acquire(false) }), refusedAt("initializer's constant capturedLock", 'Lock'));
});
