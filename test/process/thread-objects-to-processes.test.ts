// A shared object made under 'thread' (the default) handed to a 'process' child: its memory is this
// process's only, so it is refused at the call, naming its path and the fix (make it in the 'process'
// context). `new Pool({ context: 'process' })` picks the pool's start method, not its objects'.
import assert from 'node:assert/strict';
import { getContext } from '../../src/index.js';
import { test, needsNativeAddon } from '../fixtures/context.js';
import { identity } from '../fixtures/pool/tasks.js';

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
