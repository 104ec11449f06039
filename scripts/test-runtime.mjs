#!/usr/bin/env node
// Runs the test suite under the 'thread' start method on Bun or Deno: `node scripts/test-runtime.mjs bun`
// (or `deno`), optionally followed by test files. The runtime's binary is `MP_BUN` / `MP_DENO`, else
// `bun` / `deno` on PATH. First the smoke program (scripts/runtimes/smoke.ts) runs against the built
// package (dist/, by its package name, as a user's program imports it), then the test files.
//
// Each file runs in a process of its own, two at a time (as node's runner does; `bun test` and
// `deno test` would otherwise load every file into one process, and the library's per-thread state
// with them). Both run TypeScript natively and implement `node:test` on their own runners, so the
// files run as they are, from the sources (Deno with sloppy imports, for the `.js` specifiers of `.ts`
// files). What EXCLUDED lists exercises what only Node has, or meets a runtime's own difference; each
// entry says why.
import { spawn } from 'node:child_process';
import { testFiles } from './test-files.mjs';

// Per runtime, what is excluded: a whole file (with its reason), or some of its tests (the start of the
// test's name, with the reason; see nameFilter for how). `both` applies to each.
const NEEDS_INSPECTOR = "Node's inspector only: Bun's and Deno's cannot locate a function (function-location.ts)";
const SHARED_IN_ITEMS =
  "a shared object inside a queue item or pipe message put after the child started needs the buffer directory's synchronous BroadcastChannel read (buffer-directory.ts), which neither has";
// Not yet run on Bun or Deno (README, "Where it runs"): the distributed subpath (its tests start worker
// commands with Node and tsx) and what needs the 'process' start method or the native addon.
const NOT_YET_DISTRIBUTED = 'multiprocessing/distributed is not yet tested on Bun or Deno (issue 15): its tests start Node worker commands under tsx';
const NOT_YET_PROCESS = "the 'process' start method and the native addon's segments are not yet tested on Bun or Deno (issue 14)";
const EXCLUDED = {
  both: {
    'test/distributed/backend.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/barrier.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/bundle.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/event.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/failures.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/local-workers.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/lock.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/package.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/pool-objects.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/pool.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/queue.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/semaphore.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/value.test.ts': NOT_YET_DISTRIBUTED,
    'test/distributed/worker-command.test.ts': NOT_YET_DISTRIBUTED,
    'test/memory/shared-memory.test.ts': NOT_YET_PROCESS,
    'test/process/many-processes.test.ts': NOT_YET_PROCESS,
    'test/process/os-process-lifetime.test.ts': NOT_YET_PROCESS,
    'test/process/os-process.test.ts': NOT_YET_PROCESS,
    'test/runtime/segments.test.ts': NOT_YET_PROCESS,
    'test/context/start-methods.test.ts': { 'a context starts processes': `${NOT_YET_PROCESS} (Bun: node:v8's Serializer, which the IPC codec uses, is not implemented)` },
    'test/pool/errors.test.ts': {
      'a function shipped by source shows its real file': `${NEEDS_INSPECTOR}, so its frames keep the data: module's lines`,
    },
    'test/package/installed.test.ts':
      "the npm-installed package (npm test checks it under Node): here it would repeat npm installs and tsc runs (150 s), and its natural programs' entry-script functions need Node's inspector",
    'test/pool/priority.test.ts': { 'map and imap chunks take the call': `${NEEDS_INSPECTOR}: the task uses a test-file import` },
    'test/process/event-loop.test.ts': { 'the library keeps nothing alive: a target that used the inspector': NEEDS_INSPECTOR },
    'test/process/identity.test.ts': { 'a grandchild is named': `${NEEDS_INSPECTOR}: the target uses a test-file import` },
    'test/transport/entry-functions.test.ts': `${NEEDS_INSPECTOR}: entry-script functions cross with their module's scope`,
    'test/transport/functions.test.ts': {
      'a closure in the entry script is refused at the call': NEEDS_INSPECTOR,
      'an unexported function of a module crosses with its constants': NEEDS_INSPECTOR,
      'the analysis is cached per function': NEEDS_INSPECTOR,
      'a module variable assigned again, or a constant that cannot be cloned': NEEDS_INSPECTOR,
      'a closure inside args is refused by start()': NEEDS_INSPECTOR,
      'the parser-free check for small functions': NEEDS_INSPECTOR,
    },
    'test/package/native-install.test.ts':
      "the package's install script, which npm runs with Node: run with this runtime's binary, it looks for npm's node-gyp beside it",
    'test/queues/shared-items.test.ts': SHARED_IN_ITEMS,
    'test/queues/carried-kinds.test.ts': SHARED_IN_ITEMS,
    'test/runtime/native.test.ts': "the 'process' start method's native addon (Node's V8-API build; Node-API under Node), not the 'thread' method",
    'test/transport/remote-error.test.ts': {
      'an error whose message getter throws': "the runtime makes the error's stack without reading its message (Node's V8 reads it)",
    },
    'test/pool/stray-errors.test.ts':
      "a worker's stray error (a timer's throw, an unhandled rejection) never reaches the pool worker's process.on('uncaughtException' / 'unhandledRejection') handlers there: nothing is reported",
    'test/pool/faults.test.ts': {
      'a worker that exceeds its resourceLimits is lost': 'workers ignore resourceLimits there: the pool refuses them (test/runtime/runtimes.test.ts)',
    },
    'test/pool/worker-settings.test.ts': { 'an execArgv a thread refuses': 'workers there take no Node options, so none is refused' },
  },
  bun: {
    'test/pool/number-blocks.test.ts': {
      'integers reach the function as V8 small integers': "the check is V8's %IsSmi, which JavaScriptCore does not have",
    },
    'test/pool/apply.test.ts': {
      'a closure over an entry-script variable is refused': "Bun's transpiler inlines the const, so the closure is self-contained and runs",
    },
    'test/process/attributes.test.ts': {
      'an unhandled rejection inside the child ends it with exit code 1': "Bun's worker lives on after an unhandled rejection (exit code 0)",
    },
  },
  deno: {
    'test/process/stderr.test.ts': {
      'an error thrown from a timer inside the child': 'Deno prints its own "Uncaught (in worker)" report before the library\'s',
    },
    'test/pool/tsx-workers.test.ts': "tsx's hooks are Node's; under Deno, which runs TypeScript itself, a worker never registers them",
    'test/process/program-lifetime.test.ts': {
      'the main module returns while a daemon child loops': "Deno's worker.unref() does not let the program end while the worker runs",
    },
    'test/queues/dead-holder.test.ts': {
      'a producer of big items terminated at an arbitrary point of put': "Deno emits a terminated worker's 'exit' before its thread has stopped",
    },
    'test/pool/cancellation.test.ts': {
      'a task stopped by its timeout or its signal rejects only once its worker has exited':
        "Deno emits a terminated worker's 'exit' before its thread has stopped",
    },
  },
};

const [runtime, ...named] = process.argv.slice(2);
if (runtime !== 'bun' && runtime !== 'deno') {
  console.error('usage: node scripts/test-runtime.mjs bun|deno [test files…]');
  process.exit(2);
}
const binary = process.env[runtime === 'bun' ? 'MP_BUN' : 'MP_DENO'] || runtime;
const excluded = { ...EXCLUDED.both };
for (const [file, what] of Object.entries(EXCLUDED[runtime])) {
  excluded[file] = typeof what === 'string' || typeof excluded[file] !== 'object' ? what : { ...excluded[file], ...what };
}
const files = named.length > 0 ? named : testFiles().filter((f) => typeof excluded[f] !== 'string');

function excludedStarts(file) {
  return typeof excluded[file] === 'object' ? Object.keys(excluded[file]) : [];
}

// Bun skips excluded tests by name: every test whose name does not start as an excluded one's runs.
// Deno's --filter has no look-ahead (a Rust regex), so there they run, and their failures are expected.
function nameFilter(file) {
  const starts = excludedStarts(file);
  if (runtime !== 'bun' || starts.length === 0) return [];
  return ['--test-name-pattern', `^(?!${starts.map((start) => start.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`];
}

function command(file, test = true) {
  if (runtime === 'bun') return test ? [binary, ['test', '--timeout=120000', ...nameFilter(file), `./${file}`]] : [binary, [file]];
  return test ? [binary, ['test', '-A', '--no-check', ...nameFilter(file), file]] : [binary, ['run', '-A', file]];
}

/** Runs one file; its output is printed whole when it ends, so parallel files do not interleave. */
function run(file, test = true) {
  const [cmd, args] = command(file, test);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      // Deno's sloppy imports (a `.js` specifier finds the `.ts` file) by the environment, so that the
      // programs a test runs with `process.execPath` have them too.
      env: { ...process.env, MP_TEST_START_METHODS: 'thread', NO_COLOR: '1', DENO_UNSTABLE_SLOPPY_IMPORTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // A file that hangs must fail, not stall the run.
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', (error) => (output += String(error)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ file, code, signal, output, ...counts(file, output) });
    });
  });
}

// Each runner's summary line: Bun prints " 6 pass" and " 0 fail", Deno "ok | 6 passed | 0 failed".
function counts(file, output) {
  if (runtime === 'bun') {
    const [pass, fail] = [/^\s*(\d+) pass$/m.exec(output), /^\s*(\d+) fail$/m.exec(output)];
    return { pass: Number(pass?.[1] ?? 0), fail: Number(fail?.[1] ?? 0), expected: 0 };
  }
  const summary = /(\d+) passed[^|\n]*\| (\d+) failed/.exec(output);
  // Deno lists each failed test as "<name> => ./file:line:column" under FAILURES.
  const failures = output.slice(output.lastIndexOf('FAILURES'));
  const failed = [...failures.matchAll(/^(.+?) => \S+:\d+:\d+$/gm)].map((m) => m[1]);
  const expected = failed.filter((name) => excludedStarts(file).some((start) => name.startsWith(start))).length;
  return { pass: Number(summary?.[1] ?? 0), fail: Number(summary?.[2] ?? 0) - expected, expected };
}

const started = Date.now();
const version = await run('--version', false).catch(() => undefined);
console.log(`# ${runtime}: ${version?.output.trim().split('\n')[0] ?? 'not found'}`);
const smoke = await run('scripts/runtimes/smoke.ts', false);
process.stdout.write(smoke.output);
let failed = smoke.code !== 0;

console.log(`# ${files.length} test files on ${runtime}, start method 'thread'${named.length > 0 ? '' : `; exclusions listed at the end`}`);
const queue = [...files];
const results = [];
await Promise.all(
  [0, 1].map(async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const result = await run(file);
      results.push(result);
      const ok = (result.code === 0 || result.expected > 0) && result.signal === null && result.fail === 0;
      if (!ok) failed = true;
      const expected = result.expected > 0 ? `, ${result.expected} excluded failed as expected` : '';
      console.log(`${ok ? 'ok' : 'FAIL'} ${file}: ${result.pass} pass, ${result.fail} fail${expected}${result.signal ? ` (${result.signal})` : ''}`);
      if (!ok) process.stdout.write(result.output.replace(/^/gm, '    ') + '\n');
    }
  }),
);
const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
console.log(`# ${runtime}: ${pass} pass, ${fail} fail in ${results.length} files (${Math.round((Date.now() - started) / 1000)} s)`);
for (const [file, what] of Object.entries(excluded)) {
  if (typeof what === 'string') console.log(`# excluded ${file}: ${what}`);
  else for (const [name, why] of Object.entries(what)) console.log(`# excluded in ${file}, '${name}…': ${why}`);
}
process.exit(failed ? 1 : 0);
