// Functions written in the entry file, as new users write them (issue 11): imports, module constants,
// helper functions and classes, `using`, relative and bare imports, `import()`. The same program runs
// under tsx and compiled by tsc to ES modules and to CommonJS, each in a process of its own, and must
// give the same results; errors in workers point at the user's file; a reassigned `let` is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runNode, runTs, type RunResult } from '../fixtures/process/subprocess.js';

const T = { timeout: 120_000 };
const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/transport/entry/', import.meta.url));
const sources = ['program.ts', 'util.ts', 'bootstrap-program.ts', 'starts-pool.ts', 'fast-path.ts', 'process-error.ts', 'decorators.ts'];
let scratch: string;
const compiled = ['esm', 'cjs', 'cjs-es5'] as const;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'mp-entry-'));
  mkdirSync(join(scratch, 'node_modules'));
  symlinkSync(repo, join(scratch, 'node_modules', 'multiprocessing'));
  symlinkSync(join(repo, 'node_modules', 'acorn'), join(scratch, 'node_modules', 'acorn'));
  for (const flavour of compiled) {
    mkdirSync(join(scratch, flavour));
    writeFileSync(join(scratch, flavour, 'package.json'), JSON.stringify({ type: flavour === 'esm' ? 'module' : 'commonjs' }));
  }
  for (const flavour of compiled) await compileWith(flavour);
});


async function compileWith(flavour: (typeof compiled)[number]): Promise<void> {
  const out = join(scratch, flavour);
  const options =
    flavour === 'esm'
      ? ['--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext']
      : ['--module', 'commonjs', '--moduleResolution', 'node10', '--esModuleInterop'];
  // ES5: tsc's __awaiter and __generator helpers, classes as functions, `using` through its helpers.
  if (flavour === 'cjs') options.push('--target', 'es2022');
  if (flavour === 'cjs-es5') options.push('--target', 'es5', '--downlevelIteration', '--ignoreDeprecations', '5.0', '--experimentalDecorators');
  const files = sources.filter((f) => flavour === 'esm' || f !== 'fast-path.ts').map((f) => join(fixtures, f));
  // Type errors (the package's types are not resolved from the scratch directory) do not stop emitting.
  await runNode([], join(repo, 'node_modules/typescript/bin/tsc'), [
    ...options, '--lib', 'es2023,esnext.disposable,esnext.decorators', '--types', 'node', '--skipLibCheck',
    '--rootDir', fixtures, '--outDir', out, ...files,
  ], 60_000);
  for (const file of sources) {
    if (flavour !== 'esm' && file === 'fast-path.ts') continue;
    assert.ok(existsSync(join(out, file.replace(/\.ts$/, '.js'))), `tsc did not emit ${file} for ${flavour}`);
  }
}

after(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

type Flavour = 'tsx' | (typeof compiled)[number];

function run(flavour: Flavour, name: string): Promise<RunResult> {
  return flavour === 'tsx' ? runTs(join(fixtures, `${name}.ts`), [], 60_000) : runNode([], join(scratch, flavour, `${name}.js`), [], 60_000);
}

function output(result: RunResult): Record<string, unknown> {
  assert.equal(result.signal, null, `the program did not end: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

/**
 * `file:line:col` (1-based) of the `new` in the line of `file` that contains `marker`, named as node
 * names frames: an ES module by URL, CommonJS and source-mapped TypeScript by path.
 */
function positionOf(file: string, marker: string, flavour: Flavour): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(marker));
  assert.ok(line >= 0, `${marker} not in ${file}`);
  const shown = flavour === 'esm' ? pathToFileURL(file).href : file;
  return `${shown}:${line + 1}:${lines[line]!.indexOf('new ') + 1}`;
}

async function checkProgram(flavour: Flavour): Promise<void> {
  const result = await run(flavour, 'program');
  const results = output(result);
  assert.doesNotMatch(result.stderr, /Warning/); // Node 20's experimental loader for compiled code stays quiet
  assert.deepEqual(results.slowTimesN, [100, 200, 300]); // `sleep` from node:timers/promises, const N
  assert.equal(results.hash, results.hashHere); // createHash from node:crypto, a const object
  assert.equal(results.hash, '488f0d781662');
  assert.equal(results.whoAmI, true); // currentProcess from 'multiprocessing'
  assert.deepEqual(results.parity, ['even', 'odd']); // mutual recursion between two helpers
  assert.equal(results.total, 10); // a class of the module
  assert.equal(results.counter, 355); // `using` and `await using` with a Lock and a Value held in consts
  assert.equal(results.viaUtil, 14); // './util.js', a namespace import, a default import
  assert.equal(results.countStatements, 3); // a bare specifier: acorn
  assert.equal(results.importsItsSibling, 42); // import('./util.js') inside the function
  assert.equal(results.importsTheLibrary, 'number'); // import('multiprocessing') inside the function
  assert.deepEqual(results.inline, [101, 102]); // an arrow passed inline
  assert.deepEqual(results.method, ['1/100', '2/100']); // an object's method
  assert.deepEqual(results.process, [0, 102]); // a Process target
  const program = flavour === 'tsx' ? join(fixtures, 'program.ts') : join(scratch, flavour, 'program.js');
  const fails = results.fails as { message: string; frame: string };
  assert.equal(fails.message, 'too big: 500');
  assert.equal(fails.frame, `at fails (${positionOf(program, 'too big', flavour)})`); // self-contained: by source alone
  const failsOverN = results.failsOverN as { message: string; frame: string };
  assert.equal(failsOverN.message, 'over 100: 500');
  assert.equal(failsOverN.frame, `at failsOverN (${positionOf(program, 'over ', flavour)})`); // with its scope
  const refused = results.usesChanging as { message: string };
  assert.match(
    refused.message,
    /^fn 'usesChanging' uses variables from outside its body \('changing'\) that cannot travel with it: 'changing' is a variable that is assigned again after its declaration\..*Fix: pass that value as an argument/,
  );
  // An arrow over the this of the method that made it (tsc's ES5 output names it _this, a local of the method).
  const usesThis = results.usesThis as { message: string };
  const thisName = flavour === 'cjs-es5' ? '_this' : 'this';
  assert.match(usesThis.message, new RegExp(`^fn uses variables from outside its body \\('${thisName}'\\) that cannot travel with it: '${thisName}' is (the this of the function, method or class it was created in|a local variable of an enclosing function)`));
}

test('natural programs with worker functions in the entry file work under tsx', T, () => checkProgram('tsx'));
test('the same programs compiled by tsc to ES modules work under plain node', T, () => checkProgram('esm'));
test('the same programs compiled by tsc to CommonJS work under plain node', T, () => checkProgram('cjs'));
test('the same programs compiled by tsc to CommonJS for ES5 work (tsc helpers, classes as functions)', T, () => checkProgram('cjs-es5'));

for (const flavour of ['tsx', 'esm', 'cjs'] as const) {
  test(`a Process child's own traceback points at the entry file's line and column (${flavour})`, T, async () => {
    const result = await run(flavour, 'process-error');
    assert.deepEqual(output(result), { exitCodes: [1, 1] });
    const file = flavour === 'tsx' ? join(fixtures, 'process-error.ts') : join(scratch, flavour, 'process-error.js');
    assert.match(result.stderr, /^Process Process-1:\nRangeError: over the limit: 5\n/);
    assert.ok(result.stderr.includes(`    at boom (${positionOf(file, 'over the limit', flavour)})\n`), result.stderr);
    // Self-contained: shipped by source, yet compiled in the child at its place in this file.
    assert.match(result.stderr, /^Process Process-2:\nRangeError: too big alone: 5\n/m);
    assert.ok(result.stderr.includes(`    at boomAlone (${positionOf(file, 'too big alone', flavour)})\n`), result.stderr);
  });
}

for (const flavour of ['tsx', 'cjs'] as const) {
  test(`a module that starts a pool at its top level, imported by a worker for a function, is named (${flavour})`, T, async () => {
    const outcome = output(await run(flavour, 'bootstrap-program')) as { code?: string; message?: string };
    assert.equal(outcome.code, 'ERR_MP_BOOTSTRAPPING');
    assert.match(outcome.message ?? '', /The module '\.\/starts-pool\.js' \(as \S+bootstrap-program\.[jt]s (imports|requires) it\)/);
    assert.match(outcome.message ?? '', /Fix: start processes from a function/);
  });
}

for (const flavour of ['tsx', 'esm'] as const) {
  test(`the first result for a plainly self-contained function loads neither the parser nor the inspector (${flavour})`, T, async () => {
    const outcome = output(await run(flavour, 'fast-path'));
    assert.deepEqual(outcome, { first: 27, sessions: 0, parsers: [] });
  });
}

for (const flavour of ['esm', 'cjs', 'cjs-es5'] as const) {
  test(`a decorated class crosses with tsc's decorator helpers (${flavour === 'cjs-es5' ? 'legacy decorators, ES5' : flavour})`, T, async () => {
    assert.deepEqual(output(await run(flavour, 'decorators')), { here: 'hi, tagged', there: 'hi, tagged' });
  });
}

test('a class decorated by esbuild (tsx) is refused by name rather than shipped without its decoration', T, async () => {
  const outcome = output(await run('tsx', 'decorators')) as { here: string; there: { refused: string } };
  assert.equal(outcome.here, 'hi, tagged');
  assert.match(outcome.there.refused, /^fn 'greet' uses variables from outside its body \(.*'_Greeter_decorators'.*\) that cannot travel with it/);
});
