// Functions crossing into workers: module exports by reference, self-contained functions by source,
// explicit { module, name }; closures refused at the call with the variables named; functions inside args.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import type * as mp from '../../src/index.js';
import { ctx, test, needsSharedMemory, sharedBuffer } from '../fixtures/context.js';
import { toWireFunction } from '../../src/transport/pack.js';
import { record } from '../fixtures/process/targets.js';
import {
  arrowExport,
  baseLength,
  calculate,
  callNested,
  constructWith,
  getHidden,
  getUntravelled,
  makeClosure,
  mul,
  scaled,
} from '../fixtures/transport/functions.js';
import defaultExport from '../fixtures/transport/functions.js';

const { Process } = ctx;

const T = { timeout: 20_000 };
const fixtureUrl = new URL('../fixtures/transport/functions.ts', import.meta.url);

async function run(target: unknown, args: unknown[]): Promise<mp.Process> {
  const p = new Process({ target: target as never, args });
  p.start();
  await p.join(15_000);
  assert.equal(p.exitCode, 0, `child exited with ${p.exitCode}`);
  return p;
}

function int32(n = 1): Int32Array {
  return new Int32Array(sharedBuffer(4 * n));
}

// ---- a context's class ----

test("a context's class crosses as the same member of the child's context", { ...T, ...needsSharedMemory }, async () => {
  const out = int32();
  await run(constructWith, [out, ctx.Value, 41]);
  assert.equal(out[0], 42);
  assert.deepEqual({ ...toWireFunction(ctx.Value, 'Make'), module: '' }, { by: 'context', method: ctx.startMethod, name: 'Value', module: '' });
});

// ---- by reference ----

test('a module export that uses module state crosses by reference; the child imports its module', { ...T, ...needsSharedMemory }, async () => {
  const wire = toWireFunction(record, 'target');
  assert.equal(wire.by, 'module');
  assert.equal(wire.by === 'module' && wire.name, 'record');
  const out = int32();
  await run(record, [out, 41]);
  assert.equal(out[0], 41); // `calls` was 1 in the child: its own copy of the module's state
});

test('module state lives in the child: each child has its own', { ...T, ...needsSharedMemory }, async () => {
  assert.equal(toWireFunction(scaled, 'fn').by, 'module');
  const out = int32();
  await run(calculate, [out, scaled, [3, 7]]);
  assert.equal(out[0], 210);
  await run(calculate, [out, scaled, [3, 7]]);
  assert.equal(out[0], 210);
});

test('a module export that uses an import crosses by reference and the import works', { ...T, ...needsSharedMemory }, async () => {
  assert.equal(toWireFunction(baseLength, 'target').by, 'module');
  const out = int32();
  await run(baseLength, [out, '/a/b/hello.txt']);
  assert.equal(out[0], 'hello.txt'.length);
});

test('an exported arrow and a default export cross by reference', { ...T, ...needsSharedMemory }, async () => {
  const arrow = toWireFunction(arrowExport, 'target');
  assert.deepEqual(arrow.by === 'module' && [arrow.name], ['arrowExport']);
  const def = toWireFunction(defaultExport, 'target');
  assert.deepEqual(def.by === 'module' && [def.name], ['default']);
  const out = int32();
  await run(arrowExport, [out, 4]);
  assert.equal(out[0], 40);
  await run(defaultExport, [out]);
  assert.equal(out[0], 11);
});

// ---- explicit { module, name } ----

test('explicit { module: URL, name }', { ...T, ...needsSharedMemory }, async () => {
  const out = int32();
  await run({ module: fixtureUrl, name: 'arrowExport' }, [out, 5]);
  assert.equal(out[0], 50);
});

test('explicit { module: file URL string | absolute path | ./relative path, name }', { ...T, ...needsSharedMemory }, async () => {
  const out = int32();
  const absolute = fileURLToPath(fixtureUrl);
  const forms = [fixtureUrl.href, absolute, `./${relative(process.cwd(), absolute)}`];
  for (const [i, module] of forms.entries()) {
    await run({ module, name: 'arrowExport' }, [out, i + 1]);
    assert.equal(out[0], (i + 1) * 10, module);
  }
});

test('explicit reference to a missing export: the child fails with exit code 1', T, async (t) => {
  t.mock.method(process.stderr, 'write', () => true);
  const p = new Process({ target: { module: fixtureUrl, name: 'noSuchExport' } });
  p.start();
  await p.join(15_000);
  assert.equal(p.exitCode, 1);
});

// ---- by source ----

test('self-contained functions cross by source: declarations, arrows, async, method shorthand', { ...T, ...needsSharedMemory }, async () => {
  const out = int32(4);
  function declared(o: Int32Array): void {
    Atomics.store(o, 0, 1);
  }
  const arrow = (o: Int32Array) => Atomics.store(o, 1, 2);
  const asyncFn = async (o: Int32Array) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    Atomics.store(o, 2, 3);
  };
  const holder = {
    method(o: Int32Array): void {
      Atomics.store(o, 3, 4);
    },
  };
  for (const fn of [declared, arrow, asyncFn, holder.method]) {
    assert.equal(toWireFunction(fn, 'target').by, 'source', fn.name);
    await run(fn, [out]);
  }
  assert.deepEqual([...out], [1, 2, 3, 4]);
});

test('a self-contained function with nested named arrows (tsx wraps them in __name) crosses by source', { ...T, ...needsSharedMemory }, async () => {
  function withNested(o: Int32Array, xs: number[]): void {
    const square = (x: number) => x * x;
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    Atomics.store(o, 0, sum(xs.map(square)));
  }
  assert.equal(toWireFunction(withNested, 'target').by, 'source');
  const out = int32();
  await run(withNested, [out, [1, 2, 3]]);
  assert.equal(out[0], 14);
});

test('a self-contained module export crosses by source too', T, () => {
  assert.equal(toWireFunction(mul, 'fn').by, 'source');
});

// ---- refused ----

test('a closure in the entry script is refused at the call, naming the variables and the fix', T, () => {
  const offset = 3;
  const scale = 2;
  const closure = (x: number) => x * scale + offset;
  assert.throws(
    () => new Process({ target: closure, args: [1] }),
    (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^target 'closure' uses variables from outside its body \('scale', 'offset'\)/);
      assert.match(error.message, /'scale' is a local variable of an enclosing function; 'offset' is a local variable/);
      assert.match(error.message, /Fix: pass those values as arguments/);
      assert.match(error.message, /move the function into a module other than the entry script and export it/);
      return true;
    },
  );
});

test('an unexported function of a module crosses with its constants; a closure over a local is refused', { ...T, ...needsSharedMemory }, async () => {
  const wire = toWireFunction(getHidden(), 'target');
  assert.equal(wire.by, 'source');
  assert.deepEqual(wire.by === 'source' && wire.scope?.captured, ['factor']);
  const out = int32();
  await run(calculate, [out, getHidden(), []]);
  assert.equal(out[0], 10);
  assert.throws(
    () => new Process({ target: makeClosure(1) }),
    /uses variables from outside its body \('n'\) that cannot travel with it: 'n' is a local variable of an enclosing function/,
  );
});

test('the analysis is cached per function: the same wire for every call', T, () => {
  const hidden = getHidden();
  assert.equal(toWireFunction(hidden, 'fn'), toWireFunction(hidden, 'fn'));
});

test('a module variable assigned again, or a constant that cannot be cloned, is refused, named', T, () => {
  const { usesRegistry, bumpCalls } = getUntravelled();
  assert.throws(
    () => toWireFunction(bumpCalls, 'fn'),
    /^TypeError: fn 'bumpCalls' uses variables from outside its body \('calls'\) that cannot travel with it: 'calls' is a variable that is assigned again after its declaration\./,
  );
  assert.throws(
    () => toWireFunction(usesRegistry, 'fn'),
    /^TypeError: fn 'usesRegistry' uses constants\.registry, which cannot be sent to a worker with it: .*WeakMap/,
  );
});

test("functions of Node's own modules cross by name, as pickle sends time.sleep: setTimeout of timers/promises, path.basename", T, async () => {
  const { setTimeout: sleep } = await import('node:timers/promises');
  const { basename } = await import('node:path');
  assert.deepEqual(toWireFunction(sleep, 'fn'), { by: 'module', module: 'node:timers/promises', name: 'setTimeout', source: Function.prototype.toString.call(sleep) });
  const pool = new ctx.Pool(2);
  try {
    assert.equal(await pool.apply(sleep as (ms: number, value: string) => Promise<string>, [10, 'slept']), 'slept');
    assert.deepEqual(await pool.map(basename, ['/a/b.txt', '/c/d.ts']), ['b.txt', 'd.ts']);
  } finally {
    await pool.terminate();
  }
});

test("the runtime's global functions cross by their path, as pickle sends math.sqrt: Math.sqrt, parseInt, JSON.parse, Number", T, async () => {
  assert.deepEqual(toWireFunction(Math.sqrt, 'fn'), { by: 'global', path: 'Math.sqrt' });
  assert.deepEqual(toWireFunction(parseInt, 'fn'), { by: 'global', path: 'parseInt' });
  const pool = new ctx.Pool(2);
  try {
    assert.deepEqual(await pool.map(Math.sqrt, [1, 4, 9]), [1, 2, 3]);
    assert.deepEqual(await pool.map(Number, ['1', '2.5']), [1, 2.5]);
    assert.equal(await pool.apply(parseInt, ['ff', 16]), 255);
    assert.deepEqual(await pool.apply(JSON.parse, ['{"a":[1]}']), { a: [1] });
    // One that needs its holder as `this`.
    assert.equal(await pool.apply(Promise.resolve as (value: number) => Promise<number>, [7]), 7);
  } finally {
    await pool.terminate();
  }
});

test('other native functions and bound functions are refused', T, () => {
  assert.throws(() => new Process({ target: Map.prototype.get, args: ['key'] }), /target 'get' is a native or bound function/);
  assert.throws(() => new Process({ target: record.bind(null), args: [new Int32Array(1), 1] }), /native or bound function/);
});

// ---- functions inside args ----

test('a function inside args crosses by the same rules: calculate(mul, [3, 7])', { ...T, ...needsSharedMemory }, async () => {
  const out = int32();
  await run(calculate, [out, mul, [3, 7]]);
  assert.equal(out[0], 21);
  await run(calculate, [out, (a: number, b: number) => a - b, [3, 7]]);
  assert.equal(out[0], -4);
});

test('functions deep in plain arrays and objects cross', { ...T, ...needsSharedMemory }, async () => {
  const out = int32(3);
  await run(callNested, [
    out,
    { nested: [{ fn: mul, args: [2, 3] }, { fn: scaled, args: [1, 1] }, { fn: (a: number, b: number) => a + b, args: [4, 5] }] },
  ]);
  assert.deepEqual([...out], [6, 10, 9]);
});

test('a closure inside args is refused by start(), naming its path', T, () => {
  const k = 2;
  assert.throws(
    () => new Process({ target: callNested, args: [new Int32Array(1), { nested: [{ fn: (a: number) => a * k, args: [1, 1] }] }] }).start(),
    /^TypeError: args\[1\]\.nested\[0\]\.fn 'fn' uses variables from outside its body \('k'\)/,
  );
});

test('the parser-free check for small functions never lets an outer variable through', () => {
  const outer = 2;
  const refused = [
    (x: number) => `${outer}${x}`,
    (x: number) => x + outer,
    (x: number) => ({ [outer]: x }),
    (x: number) => [x].map((y) => y + outer),
  ];
  for (const fn of refused) {
    assert.throws(() => toWireFunction(fn, 'fn'), /outer/, fn.toString());
  }
  const accepted = [
    (x: number) => x * x * x,
    (x: number) => Math.sqrt(x) + 'outer'.length,
    (x: number) => {
      const local = x + 1;
      return { local };
    },
    (...xs: number[]) => xs.length,
  ];
  for (const fn of accepted) assert.equal(toWireFunction(fn, 'fn').by, 'source', fn.toString());
});
