// Bad input: clear errors at the call.
import assert from 'node:assert/strict';
import { ctx, test } from '../fixtures/context.js';
import { cube, initStore, readInit, workerPid } from '../fixtures/pool/tasks.js';
import { getContext } from '../../src/index.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

test('new Pool(0), Pool(-1), Pool(1.5), Pool(NaN) are refused: at least 1, a whole number', T, () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new Pool(bad),
      (e: Error & { code?: string }) =>
        e instanceof RangeError && /Number of processes must be at least 1/.test(e.message) && e.code === 'ERR_MP_POOL_SIZE',
    );
    assert.throws(() => new Pool({ processes: bad }), /Number of processes must be at least 1/);
  }
});

test('maxTasksPerChild 0 and -1 are refused', T, () => {
  for (const bad of [0, -1]) {
    assert.throws(() => new Pool({ processes: 1, maxTasksPerChild: bad }), /maxTasksPerChild must be a positive integer/);
  }
});

// A trial: `idleTimeout` without `minProcesses` was accepted and silently ignored (a fixed pool retires
// no worker), while a misspelt option is refused.
test('idleTimeout without minProcesses is refused, naming minProcesses; with it, it is taken', T, async () => {
  for (const idleTimeout of [100, Infinity]) {
    assert.throws(
      () => new Pool({ processes: 2, idleTimeout }),
      (e: Error & { code?: string }) =>
        e instanceof TypeError && e.code === 'ERR_MP_INVALID_ARG' && /^idleTimeout applies only to an elastic pool/.test(e.message) && /add minProcesses \(say \{ processes: 2, minProcesses: 0, idleTimeout: /.test(e.message),
    );
  }
  const pool = new Pool({ processes: 2, minProcesses: 0, idleTimeout: 100 });
  try {
    assert.equal(await pool.apply(cube, [3]), 27);
  } finally {
    await pool.terminate();
  }
});

test('chunksize 0, -1, 1.5 are refused: "Chunksize must be 1+"', T, async () => {
  const pool = new Pool(1);
  try {
    for (const bad of [0, -1, 1.5]) {
      await assert.rejects(pool.map(cube, [1, 2], bad), (e: Error & { code?: string }) =>
        e instanceof RangeError && e.message === `Chunksize must be 1+, not ${bad}` && e.code === 'ERR_MP_CHUNKSIZE');
      await assert.rejects(pool.starmap(cube, [[1]], bad), /Chunksize must be 1\+/);
      await assert.rejects(pool.mapAsync(cube, [1], bad).get(), /Chunksize must be 1\+/);
      assert.throws(() => pool.imap(cube, [1], bad), /Chunksize must be 1\+/);
      assert.throws(() => pool.imapUnordered(cube, [1], bad), /Chunksize must be 1\+/);
    }
    // Even for an empty input.
    await assert.rejects(pool.map(cube, [], 0), /Chunksize must be 1\+/);
    assert.deepEqual(await pool.map(cube, [1, 2], 1), [1, 8]);
  } finally {
    await pool.terminate();
  }
});

test('a non-function fn is a TypeError at the call', T, async () => {
  const pool = new Pool(1);
  try {
    for (const bad of [42, 'cube', null, undefined, { name: 'x' }]) {
      await assert.rejects(pool.apply(bad as never, []), (e: Error) => e instanceof TypeError && /fn must be a function/.test(e.message));
      await assert.rejects(pool.map(bad as never, [1]), TypeError);
      await assert.rejects(pool.starmap(bad as never, [[1]]), TypeError);
      await assert.rejects(pool.applyAsync(bad as never, []).get(), TypeError);
      assert.throws(() => pool.imap(bad as never, [1]), TypeError);
    }
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('a symbol argument is refused with a TypeError naming its path', T, async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(cube as never, [{ k: Symbol('s') }]), (e: Error) => e instanceof TypeError && /args\[0\]\.k/.test(e.message));
  } finally {
    await pool.terminate();
  }
});

// ---- issue 10: every entry point checks its arguments, with a code and a message naming the fix ----

type Coded = Error & { code?: string };
const is = (Class: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, code: string, message: RegExp) => (e: Coded) =>
  e instanceof Class && e.code === code && message.test(e.message);

test('map and imap refuse an input that is not iterable (map(f, { a: 1 }) returned [] before)', T, async () => {
  const pool = new Pool(1);
  try {
    const expected = is(TypeError, 'ERR_MP_INVALID_ARG', /^iterable must be an iterable or async iterable \(an array, a Set, a generator…\), not /);
    for (const bad of [{ a: 1 }, 5, null, undefined, true]) {
      await assert.rejects(pool.map(cube, bad as never), expected);
      await assert.rejects(pool.starmap(cube, bad as never), expected);
      await assert.rejects(pool.mapAsync(cube, bad as never).get(), expected);
      assert.throws(() => pool.imap(cube, bad as never), expected);
      assert.throws(() => pool.imapUnordered(cube, bad as never), expected);
    }
    await assert.rejects(pool.map(cube, { a: 1 } as never), /not an object \(\[object Object\]\)$/);
    await assert.rejects(pool.map(cube, 5 as never), /not number 5$/);
    assert.deepEqual(await pool.map((c: string) => c.toUpperCase(), 'ab'), ['A', 'B']); // a string is iterable
  } finally {
    await pool.terminate();
  }
});

test('apply refuses args that are not an array; starmap refuses items that are not arrays', T, async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(cube as never, 3 as never), is(TypeError, 'ERR_MP_INVALID_ARG', /^args must be an array of fn's arguments, as in apply\(fn, \[x\]\), not number 3$/));
    await assert.rejects(pool.applyAsync(cube as never, 'x' as never).get(), /args must be an array/);
    await assert.rejects(pool.starmap(cube as never, [[1], 2, [3]] as never), is(TypeError, 'ERR_MP_INVALID_ARG', /^iterable\[1\] must be an array of fn's arguments \(starmap calls fn\(\.\.\.item\)\), not number 2$/));
    assert.deepEqual(await pool.starmap(cube, [[1], [2]]), [1, 8]);
  } finally {
    await pool.terminate();
  }
});

test('chunksize must be a number: "2" is a TypeError (Python: "Chunksize must be 1+" for numbers)', T, async () => {
  const pool = new Pool(1);
  try {
    const expected = is(TypeError, 'ERR_MP_CHUNKSIZE', /^chunksize must be a whole number of items, 1 or more, not the string "2"$/);
    await assert.rejects(pool.map(cube, [1, 2], '2' as never), expected);
    await assert.rejects(pool.starmap(cube, [[1]], '2' as never), expected);
    assert.throws(() => pool.imap(cube, [1], '2' as never), expected);
    assert.throws(() => pool.imapUnordered(cube, [1], null as never), TypeError);
    // Options where the chunksize goes: the message shows where they belong.
    await assert.rejects(pool.map(cube, [1, 2], { timeout: 1000 } as never), is(TypeError, 'ERR_MP_CHUNKSIZE', /options come after it, as in pool\.map\(fn, items, undefined, \{ timeout: 1000 \}\)$/));
  } finally {
    await pool.terminate();
  }
});

test('task options are checked: options, signal, onProgress, callback, errorCallback', T, async () => {
  const pool = new Pool(1);
  try {
    const calls: [string, (o: never) => Promise<unknown> | unknown][] = [
      ['apply', (o) => pool.apply(cube, [1], o)],
      ['applyAsync', (o) => pool.applyAsync(cube, [1], o).get()],
      ['map', (o) => pool.map(cube, [1], undefined, o)],
      ['mapAsync', (o) => pool.mapAsync(cube, [1], undefined, o).get()],
      ['starmap', (o) => pool.starmap(cube, [[1]], undefined, o)],
      ['imap', (o) => pool.imap(cube, [1], 1, o)],
      ['imapUnordered', (o) => pool.imapUnordered(cube, [1], 1, o)],
    ];
    const cases: [unknown, RegExp][] = [
      [5, /^options must be an object such as \{ timeout, signal, onProgress \}, not number 5$/],
      [{ signal: {} }, /^signal must be an AbortSignal \(from an AbortController\), not an object/],
      [{ signal: new AbortController() }, /^signal must be an AbortSignal/],
      [{ onProgress: 5 }, /^onProgress must be a function, not number 5$/],
      [{ callback: 'log' }, /^callback must be a function, not the string "log"$/],
      [{ errorCallback: true }, /^errorCallback must be a function, not boolean true$/],
    ];
    for (const [name, call] of calls) {
      for (const [options, message] of cases) {
        const check = is(TypeError, 'ERR_MP_INVALID_ARG', message);
        if (name.startsWith('imap')) assert.throws(() => call(options as never), check, `${name} ${String(message)}`);
        else await assert.rejects(Promise.resolve().then(() => call(options as never)), check, `${name} ${String(message)}`);
      }
    }
    assert.equal(await pool.apply(cube, [2], { signal: new AbortController().signal, timeout: 5000 }), 8);
  } finally {
    await pool.terminate();
  }
});

test('Pool options are checked: processes, initializer, initargs, maxTasksPerChild, resourceLimits', T, () => {
  const cases: [unknown, ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, string, RegExp][] = [
    ['2', TypeError, 'ERR_MP_POOL_SIZE', /^processes must be a whole number of workers, at least 1, not the string "2"$/],
    [{ processes: '2' }, TypeError, 'ERR_MP_POOL_SIZE', /^processes must be/],
    [{ processes: 0 }, RangeError, 'ERR_MP_POOL_SIZE', /^Number of processes must be at least 1/],
    [{ initializer: 5 }, TypeError, 'ERR_MP_INVALID_ARG', /^initializer must be a function or a \{ module, name \} reference, not number 5$/],
    [{ initargs: 'x' }, TypeError, 'ERR_MP_INVALID_ARG', /^initargs must be an array of the initializer's arguments, not the string "x"$/],
    [{ maxTasksPerChild: '3' }, TypeError, 'ERR_MP_MAX_TASKS', /^maxTasksPerChild must be a positive integer or null, not the string "3"$/],
    [{ resourceLimits: -1 }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits must be an object such as \{ maxOldGenerationSizeMb: 64 \}, not number -1$/],
    [{ resourceLimits: { maxOldGenerationSizeMb: -1 } }, RangeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.maxOldGenerationSizeMb must be a positive number of megabytes, not -1$/],
    [{ resourceLimits: { stackSizeMb: '4' } }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.stackSizeMb must be a number of megabytes, not the string "4"$/],
    [{ resourceLimits: { maxOldGenerationSizeMb: Number.NaN } }, RangeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.maxOldGenerationSizeMb must be a positive number of megabytes, not NaN$/],
    [{ resourceLimits: { maxYoungGenerationSizeMb: 0 } }, RangeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.maxYoungGenerationSizeMb must be a positive number of megabytes, not 0$/],
    [{ resourceLimits: { stackSizeMb: Infinity } }, RangeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.stackSizeMb must be a positive number of megabytes, not Infinity$/],
    // A misspelt limit was ignored, and the worker ran without the cap.
    [{ resourceLimits: { maxOldGenerationSizeMB: 64 } }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits has no option 'maxOldGenerationSizeMB'\. Did you mean 'maxOldGenerationSizeMb'\?$/],
    [{ resourceLimits: { maxOldGenerationSize: 64 } }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits has no option 'maxOldGenerationSize'\. Did you mean 'maxOldGenerationSizeMb'\?$/],
    [{ resourceLimits: { maxOldSpaceSize: 64 } }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits has no option 'maxOldSpaceSize'\. Did you mean 'maxOldGenerationSizeMb' \(--max-old-space-size\)\?$/],
    [{ resourceLimits: { maxOldGen: 5 } }, TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits has no option 'maxOldGen'\. It takes: maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb, stackSizeMb\.$/],
    [[2], TypeError, 'ERR_MP_POOL_SIZE', /^processes must be .*, not an array$/],
  ];
  for (const [options, Class, code, message] of cases) {
    assert.throws(() => new Pool(options as never), is(Class, code, message), JSON.stringify(options));
  }
});

test("resourceLimits.codeRangeSizeMb, which V8 has no flag for, is refused by the 'process' start method rather than not applied", T, async () => {
  const ProcessPool = getContext('process').Pool;
  assert.throws(
    () => new ProcessPool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 64, codeRangeSizeMb: 16 } }),
    is(TypeError, 'ERR_MP_INVALID_ARG', /^resourceLimits\.codeRangeSizeMb cannot be honoured by the 'process' start method: V8 has no flag for it\. Leave it out/),
  );
  const pool = new (getContext('thread').Pool)({ processes: 1, resourceLimits: { codeRangeSizeMb: 16 } });
  try {
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test('an unknown option is refused, naming the option it most likely means', T, () => {
  const cases: [unknown, RegExp][] = [
    [{ processes: 1, maxtasksperchild: 3 }, /^new Pool\(\) has no option 'maxtasksperchild'\. Did you mean 'maxTasksPerChild'\?$/],
    [{ processes: 1, init_args: [1] }, /^new Pool\(\) has no option 'init_args'\. Did you mean 'initargs'\?$/],
    [{ processes: 1, initalizer: cube }, /^new Pool\(\) has no option 'initalizer'\. Did you mean 'initializer'\?$/],
    [{ processes: 1, colour: 'blue' }, /^new Pool\(\) has no option 'colour'\. It takes: processes, minProcesses, .*context\.$/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new Pool(options as never), is(TypeError, 'ERR_MP_INVALID_ARG', message), JSON.stringify(options));
  }
});

test("a call's unknown option is refused before anything runs", T, async () => {
  const pool = new Pool(1);
  try {
    await assert.rejects(pool.apply(cube, [2], { timout: 100 } as never), is(TypeError, 'ERR_MP_INVALID_ARG', /^apply\(\) has no option 'timout'\. Did you mean 'timeout'\?$/));
    await assert.rejects(pool.map(cube, [1, 2], 1, { onprogress: () => {} } as never), is(TypeError, 'ERR_MP_INVALID_ARG', /Did you mean 'onProgress'\?/));
    assert.equal(pool.stats().completed, 0);
    assert.equal(await pool.apply(cube, [2], { priority: 3, timeout: 5_000 }), 8);
  } finally {
    await pool.terminate();
  }
});

test('new Pool(processes, options) takes its options; Python\'s positional initializer is refused', T, async () => {
  const pool = new Pool(2, { initializer: initStore, initargs: ['second argument'] });
  try {
    assert.equal(pool.processes, 2);
    assert.deepEqual(await pool.apply(readInit), ['second argument', 1]);
  } finally {
    await pool.terminate();
  }
  const positional = /^new Pool\(\) takes its options as an object: .*Python's Pool\(processes, initializer, initargs\) is new Pool\(\{ processes, initializer, initargs \}\)\.$/;
  assert.throws(() => new (Pool as unknown as new (...args: unknown[]) => unknown)(2, initStore, ['x']), is(TypeError, 'ERR_MP_INVALID_ARG', positional));
  assert.throws(() => new (Pool as unknown as new (...args: unknown[]) => unknown)(2, initStore), is(TypeError, 'ERR_MP_INVALID_ARG', positional));
  assert.throws(() => new Pool(2, { processes: 3 } as never), is(TypeError, 'ERR_MP_INVALID_ARG', /got processes twice/));
  assert.throws(() => new Pool(2, 'fast' as never), is(TypeError, 'ERR_MP_INVALID_ARG', /second argument must be an options object/));
});

test("the context option picks the workers' start method, as Python's Pool(context=…)", T, async () => {
  const inThisProcess = async (pool: InstanceType<typeof Pool>): Promise<boolean> => {
    try {
      return (await pool.apply(workerPid)) === process.pid;
    } finally {
      await pool.terminate();
    }
  };
  assert.equal(await inThisProcess(new Pool({ processes: 1, context: 'thread' })), true);
  assert.equal(await inThisProcess(new Pool({ processes: 1, context: 'process' })), false);
  assert.equal(await inThisProcess(new Pool(1, { context: getContext('process') })), false);
  assert.equal(await inThisProcess(new Pool(1, { context: getContext('thread') })), true);
  assert.throws(() => new Pool({ context: 'fork' as never }), (e: Error & { code?: string }) => e.code === 'ERR_MP_START_METHOD' && /cannot find context for 'fork'/.test(e.message));
  assert.throws(() => new Pool({ context: 3 as never }), is(TypeError, 'ERR_MP_INVALID_ARG', /^context must be a start method/));
});
