// SharedMemory and ShareableList (Python's multiprocessing.shared_memory): named blocks any process or
// thread attaches to by name; errors with codes; `using` unlinks what it created; no addon, no block.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ctx, test, needsNativeAddon } from '../fixtures/context.js';
import { setByIndex, setItem, writeByName, writeReceived } from '../fixtures/memory/blocks.js';
import { runWorkers } from '../fixtures/sync/run.js';
import { runTs } from '../fixtures/process/subprocess.js';
import { MAX_VIEW_LENGTH } from '../../src/runtime/shared-memory.js';

const { Pool, SharedMemory, ShareableList } = ctx;
const T = { timeout: 60_000 };
const shmPath = (name: string) => `/dev/shm/${name}`;

test('create, attach by name, see each other’s bytes; close and unlink', needsNativeAddon, () => {
  const block = new SharedMemory({ create: true, size: 100 });
  try {
    assert.match(block.name, /^psm_[0-9a-f]{16}$/);
    assert.equal(block.size, 100);
    assert.equal(block.buf.length, 100);
    assert.ok(block.buf.buffer instanceof SharedArrayBuffer);
    assert.equal(block.buf.every((b) => b === 0), true);
    const other = new SharedMemory({ name: `/${block.name}`, size: 5 }); // a leading slash, and size ignored
    assert.equal(other.name, block.name);
    assert.equal(other.size, 100);
    block.buf[7] = 42;
    assert.equal(other.buf[7], 42);
    other.close();
    assert.throws(() => other.buf, { code: 'ERR_MP_SHARED_MEMORY_CLOSED' });
    assert.equal(block.buf[7], 42, 'closing one attachment leaves the others');
  } finally {
    block.unlink();
  }
  assert.equal(existsSync(shmPath(block.name)), false);
  assert.throws(() => block.unlink(), { code: 'ERR_MP_SHARED_MEMORY_NOT_FOUND' });
  assert.throws(() => new SharedMemory({ name: block.name }), { code: 'ERR_MP_SHARED_MEMORY_NOT_FOUND' });
});

test('misuse is refused with codes: a taken name, no size, no name, a bad name', needsNativeAddon, () => {
  const block = new SharedMemory({ create: true, size: 8, name: `mp_test_${process.pid}` });
  try {
    assert.equal(block.name, `mp_test_${process.pid}`);
    assert.throws(() => new SharedMemory({ create: true, size: 8, name: block.name }), { code: 'ERR_MP_SHARED_MEMORY_EXISTS' });
  } finally {
    block.unlink();
  }
  assert.throws(() => new SharedMemory({ create: true }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => new SharedMemory({ create: true, size: -1 }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => new SharedMemory(), { name: 'TypeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => new SharedMemory({ name: 'a/b' }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => new SharedMemory({ name: '' }), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
});

// Node 20 views at most 2³² bytes at once; Node 22 and later view any size a block can have.
const viewLimit = Number.isSafeInteger(MAX_VIEW_LENGTH + 1) ? {} : { skip: `this Node views any block (up to ${MAX_VIEW_LENGTH} bytes)` };

test('a block larger than .buf can view is refused with a code, and a failed create leaves no name behind', { ...needsNativeAddon, ...viewLimit }, () => {
  const name = `mp_test_big_${process.pid}`;
  const tooLarge = (e: Error & { code?: string }) =>
    e instanceof RangeError && e.code === 'ERR_MP_INVALID_ARG' && new RegExp(`at most ${MAX_VIEW_LENGTH} bytes in this version of Node`).test(e.message);
  try {
    // It was an engine's bare RangeError ('Invalid typed array length'), and the block's name stayed in /dev/shm.
    assert.throws(() => new SharedMemory({ name, create: true, size: MAX_VIEW_LENGTH + 1 }), tooLarge);
    assert.equal(existsSync(shmPath(name)), false);
    // One made by another program: attaching says so too.
    writeFileSync(shmPath(name), '');
    truncateSync(shmPath(name), MAX_VIEW_LENGTH + 1);
    assert.throws(() => new SharedMemory({ name }), tooLarge);
  } finally {
    if (existsSync(shmPath(name))) unlinkSync(shmPath(name));
  }
});

test('using: a block its owner created is unlinked at the end of the scope; an attachment only closes', needsNativeAddon, () => {
  let name: string;
  {
    using block = new SharedMemory({ create: true, size: 16 });
    name = block.name;
    {
      using attached = new SharedMemory({ name });
      attached.buf[0] = 1;
    }
    assert.equal(existsSync(shmPath(name)), true, 'an attachment does not unlink');
    assert.equal(block.buf[0], 1);
  }
  assert.equal(existsSync(shmPath(name)), false);
});

test('children attach by name, and receive blocks and lists as arguments (by name)', { ...T, ...needsNativeAddon }, async () => {
  using block = new SharedMemory({ create: true, size: 16 });
  using list = new ShareableList(['aaaa', 1]);
  assert.deepEqual(
    await runWorkers(writeByName, [
      [block.name, 0, 10],
      [block.name, 1, 11],
    ]),
    [0, 0],
  );
  assert.deepEqual(await runWorkers(writeReceived, [[block, 2, 12]]), [0]);
  assert.deepEqual([...block.buf.subarray(0, 3)], [10, 11, 12]);
  assert.deepEqual(await runWorkers(setItem, [[list, 0, 'bb'], [list, 1, 2.5]]), [0, 0]);
  assert.deepEqual(list.toArray(), ['bb', 2.5]);
});

test('ShareableList: Python’s item types, negative indexes, count/index, slots that fit', needsNativeAddon, () => {
  using list = new ShareableList([1, 2.5, 3n, true, 'héllo', new Uint8Array([1, 2]), null, 1]);
  assert.equal(list.length, 8);
  assert.deepEqual(list.toArray(), [1, 2.5, 3n, true, 'héllo', new Uint8Array([1, 2]), null, 1]);
  assert.equal(list.get(-1), 1);
  assert.equal(list.count(1), 2);
  assert.equal(list.index(null), 6);
  assert.equal(list.index(new Uint8Array([1, 2])), 5);
  assert.throws(() => list.index('absent'), { code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => list.get(8), { name: 'RangeError', code: 'ERR_MP_INDEX_OUT_OF_RANGE' });
  // A slot keeps the room of its first item (rounded up to 8 bytes): 'héllo' is 6 UTF-8 bytes.
  list.set(4, 'abcdefghijkl');
  assert.equal(list.get(4), 'abcdefghijkl');
  assert.throws(() => list.set(4, 'abcdefghijklm'), { name: 'RangeError', code: 'ERR_MP_VALUE_TOO_LONG' });
  list.set(0, 'abc'); // a number's 8 bytes hold a short string
  assert.equal(list.get(0), 'abc');
  assert.throws(() => list.set(0, {} as never), { name: 'TypeError', code: 'ERR_MP_VALUE_KIND' });
  const same = new ShareableList(null, { name: list.shm.name });
  same.set(3, false);
  assert.equal(list.get(3), false);
  same.shm.close();
});

test('a block first made in a worker that then ends: the program goes on (the addon stays loaded)', { ...T, ...needsNativeAddon }, async () => {
  const r = await runTs(fileURLToPath(new URL('../fixtures/memory/created-in-worker.ts', import.meta.url)), [], 60_000);
  assert.equal(r.signal, null, `killed (${r.signal}): ${r.stderr}`);
  assert.equal(r.code, 0, `exit ${r.code} (139: a segfault)\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, 'process child 0\npool task 7\npool terminated\n');
});

test('without the addon: a clear ERR_MP_NATIVE_UNAVAILABLE error', T, () => {
  const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { SharedMemory } = await import(${JSON.stringify(entry)});
       try { new SharedMemory({ create: true, size: 8 }); } catch (error) { console.log(JSON.stringify([error.code, error.message])); }`,
    ],
    { encoding: 'utf8', env: { ...process.env, MULTIPROCESSING_NO_NATIVE: '1' }, timeout: 50_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  const [code, message] = JSON.parse(run.stdout) as [string, string];
  assert.equal(code, 'ERR_MP_NATIVE_UNAVAILABLE');
  assert.match(message, /npm run build:native/);
  assert.match(message, /getContext\('thread'\)/);
});

// A trial: `sl[0]` read undefined and `sl[0] = 'Z'` set a plain property, silently, where Python's
// `sl[0]` and `sl[0] = …` are the main interface of a ShareableList.
test('ShareableList: index access as in Python (negative from the end; out of range throws), length, iteration', needsNativeAddon, () => {
  using list = new ShareableList([1, 'two', 3n, true, null]);
  assert.deepEqual([list[0], list[1], list[2], list[3], list[4]], [1, 'two', 3n, true, null]);
  assert.equal(list[-1], null);
  assert.equal(list[-5], 1);
  list[0] = 'Z';
  list[-1] = 2.5;
  list[3] = false;
  assert.deepEqual(list.toArray(), ['Z', 'two', 3n, false, 2.5]);
  assert.equal(list.length, 5);
  assert.deepEqual([...list], ['Z', 'two', 3n, false, 2.5]);
  assert.deepEqual(Object.keys(list), ['shm'], 'an assignment by index is no property of the list');
  for (const index of [5, -6, 100]) {
    assert.throws(() => list[index], (e: Error & { code?: string }) => e instanceof RangeError && e.code === 'ERR_MP_INDEX_OUT_OF_RANGE' && /index out of range: -?\d+ \(it has 5 items/.test(e.message));
    assert.throws(() => (list[index] = 1), { name: 'RangeError', code: 'ERR_MP_INDEX_OUT_OF_RANGE' });
  }
  assert.throws(() => list[1.5], { name: 'TypeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => (list[0] = 'too long for a slot of eight bytes'), { name: 'RangeError', code: 'ERR_MP_VALUE_TOO_LONG' });
  assert.equal(list[0], 'Z', 'a refused write changes nothing');
  // Other properties stay ordinary, and the methods still work on the list itself.
  const extra = list as unknown as { note?: string };
  extra.note = 'mine';
  assert.equal(extra.note, 'mine');
  assert.equal(list.index('two'), 1);
  assert.ok(list instanceof ShareableList);
  const attached = new ShareableList(null, { name: list.shm.name });
  assert.equal(attached[-1], 2.5);
  attached.shm.close();
});

test('a ShareableList still crosses to a Process and a pool task, where index access works too', { ...T, ...needsNativeAddon }, async () => {
  using list = new ShareableList<string | number>(['aaaa', 1]);
  assert.deepEqual(await runWorkers(setByIndex, [[list, 0, 'bb']]), [0]);
  assert.equal(list[0], 'bb');
  const pool = new Pool(1);
  try {
    assert.equal(await pool.apply(setByIndex, [list, -1, 7]), 7);
  } finally {
    await pool.terminate();
  }
  assert.deepEqual(list.toArray(), ['bb', 7]);
});
