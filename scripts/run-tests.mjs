#!/usr/bin/env node
// Runs every test file under test/ (or the ones named on the command line) with node:test under tsx.
// node 20's runner does not find .ts files by itself, so we list them.
//
// A file that imports test/fixtures/context.ts takes its API from a start method's context, and runs once
// per start method the helper lists (all of `getAllStartMethods()`, or those `MP_TEST_START_METHODS`
// names), with `MP_TEST_START_METHODS` set to that one method: CPython's one test module per start
// method. Every other file is not about a start method and runs once, in the first method's run.
import { spawnSync } from 'node:child_process';
import { perMethodFiles, testFiles } from './test-files.mjs';

/** The helper's own answer, so the list of start methods and the meaning of the variable live in one place. */
function testedStartMethods() {
  const asked = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "const { testedStartMethods } = await import('./test/fixtures/context.ts'); console.log(JSON.stringify(testedStartMethods()));",
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (asked.status !== 0) process.exit(asked.status ?? 1);
  return JSON.parse(asked.stdout);
}

// `--per-method-only`: only the files that take their API from a start method's context (CI runs them
// once more with the native addon disabled, for the 'process' method's fallback).
const perMethodOnly = process.argv.includes('--per-method-only');
const named = process.argv.slice(2).filter((arg) => arg !== '--per-method-only');
const files = (named.length > 0 ? named : testFiles()).sort();
const perMethod = perMethodFiles(files);
const once = perMethodOnly ? [] : files.filter((f) => !perMethod.includes(f));
const methods = perMethod.length > 0 ? testedStartMethods() : [];

const runs = methods.map((method, i) => ({ method, files: i === 0 ? [...once, ...perMethod].sort() : perMethod }));
if (runs.length === 0) runs.push({ method: undefined, files: once });

// Each file's time limit: a bound that turns a hang into a failure, well above what a file takes. A
// 'process' child starts several times more slowly than a thread (it loads Node and the library
// afresh), so those runs get more room (test/fixtures/context.ts, TIME_SCALE); so does the longest file
// of the first run, 1,000 process children started and joined (test/process/many-processes.test.ts).
function fileTimeout(method) {
  return method === 'process' ? 480_000 : 240_000;
}

let failed = false;
for (const run of runs) {
  const label = run.method === undefined ? '' : ` under start method '${run.method}'`;
  console.log(`# ${run.files.length} test files${label}`);
  const env = run.method === undefined ? process.env : { ...process.env, MP_TEST_START_METHODS: run.method };
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${fileTimeout(run.method)}`, ...run.files],
    { stdio: 'inherit', env },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
