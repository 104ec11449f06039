#!/usr/bin/env node
// Runs the test suite under the 'thread' start method on Bun or Deno: `node scripts/test-runtime.mjs bun`
// (or `deno`), optionally followed by test files. The runtime's binary is `MP_BUN` / `MP_DENO`, else
// `bun` / `deno` on PATH. First the smoke program (scripts/runtimes/smoke.ts) runs against the built
// package (dist/, by its package name, as a user's program imports it), then the test files.
//
// `--start-method process` (Bun only) runs the 'process' start method instead: its smoke program
// (scripts/runtimes/smoke-process.ts), then the files that run per start method and the files about OS
// processes only (PROCESS_ONLY), with the children started by Bun itself. It needs the native addon's
// Node-API build (`npm run build:native`), whose external SharedArrayBuffer Bun has. Deno's Node-API
// makes ArrayBuffers of the same memory (no external SharedArrayBuffer there: research §6), so no shared
// object can cross into a Deno child: this run refuses Deno.
//
// Each file runs in a process of its own, two at a time (as node's runner does; `bun test` and
// `deno test` would otherwise load every file into one process, and the library's per-thread state
// with them). Both run TypeScript natively and implement `node:test` on their own runners, so the
// files run as they are, from the sources (Deno with sloppy imports, for the `.js` specifiers of `.ts`
// files). What EXCLUDED lists exercises what only Node has, or meets a runtime's own difference; each
// entry says why.
import { spawn } from 'node:child_process';
import { perMethodFiles, testFiles } from './test-files.mjs';

// Per runtime, what is excluded: a whole file (with its reason), or some of its tests (the start of the
// test's name, with the reason; see nameFilter for how). `both` applies to each.
const NEEDS_INSPECTOR = "Node's inspector only: Bun's and Deno's cannot locate a function (function-location.ts)";
const SHARED_IN_ITEMS =
  "a blocking get or recv of a shared object whose memory the taking thread has not heard of yet (put after the child started, or sent back by a child) needs the buffer directory's synchronous BroadcastChannel read (buffer-directory.ts), which neither has; the async ones wait for the news (test/queues/shared-memory-news.test.ts)";
const STRAY_ERRORS =
  "a worker's stray error (a timer's throw, an unhandled rejection) never reaches the pool worker's process.on('uncaughtException' / 'unhandledRejection') handlers there: nothing is reported";
const WORKERS_TAKE_NO_OPTIONS = 'workers there take no Node options, so none is refused';
const BUN_WORKER_REJECTION = "Bun's worker lives on after an unhandled rejection (exit code 0)";
const BUN_INLINES_CONST = "Bun's transpiler inlines the const, so the closure is self-contained and runs";
const BUN_NO_LIMITS_PROCESS = "Bun's child processes ignore resourceLimits (no V8 flags): the pool refuses them (test/runtime/runtimes.test.ts)";
// Not yet run on Bun or Deno (README, "Where it runs"): the distributed subpath (its tests start worker
// commands with Node and tsx).
const NOT_YET_DISTRIBUTED = 'multiprocessing/distributed is not yet tested on Bun or Deno (issue 15): its tests start Node worker commands under tsx';
// The files about OS processes and process-shared memory only: on Bun they run in the 'process' run.
const PROCESS_ONLY = [
  'test/process/many-processes.test.ts',
  'test/process/os-process-lifetime.test.ts',
  'test/process/os-process.test.ts',
  'test/runtime/native.test.ts',
  'test/runtime/segments.test.ts',
];
const IN_PROCESS_RUN = "about the 'process' start method only: run by `--start-method process`";
const DENO_NO_PROCESS =
  "Deno's Node-API has no external SharedArrayBuffer (the addon's segments are ArrayBuffers there, research §6): no process-shared memory, so not the 'process' start method's shared objects";
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
    'test/distributed/tiny-tasks.test.ts': NOT_YET_DISTRIBUTED,
    'test/package/code-cache.test.ts':
      "the code cache is Node's (V8's cachedData): Bun and Deno require the bundle as it is (src/loader/code-cache.cts), and these programs run under this runtime",
    'test/pool/errors.test.ts': {
      'a function shipped by source shows its real file': `${NEEDS_INSPECTOR}, so its frames keep the data: module's lines`,
    },
    'test/pool/validation.test.ts': {
      'resourceLimits.codeRangeSizeMb, which V8 has no flag for': 'resourceLimits are refused as a whole there, whatever their keys (test/runtime/runtimes.test.ts)',
    },
    'test/process/stderr.test.ts': {
      'a target shipped by source: the traceback points at': `${NEEDS_INSPECTOR}, so the child's frames keep the short form`,
    },
    'test/package/installed.test.ts':
      "the npm-installed package (npm test checks it under Node): here it would repeat npm installs and tsc runs (150 s), and its natural programs' entry-script functions need Node's inspector",
    'test/pool/priority.test.ts': { 'map and imap chunks take the call': `${NEEDS_INSPECTOR}: the task uses a test-file import` },
    'test/process/event-loop.test.ts': { 'the library keeps nothing alive: a target that used the inspector': NEEDS_INSPECTOR },
    'test/process/identity.test.ts': { 'a grandchild is named': `${NEEDS_INSPECTOR}: the target uses a test-file import` },
    'test/transport/entry-functions.test.ts': `${NEEDS_INSPECTOR}: entry-script functions cross with their module's scope`,
    'test/transport/captured-shared.test.ts': `${NEEDS_INSPECTOR}: its functions take the test file's top-level shared objects along with their module's scope`,
    'test/process/thread-objects-to-processes.test.ts': {
      "a 'thread' object captured by a 'process' pool's task": `${NEEDS_INSPECTOR}: the tasks take the test file's top-level constants along`,
      "a 'thread' object captured by a 'process' child's target": `${NEEDS_INSPECTOR}: the target takes the test file's top-level constants along`,
    },
    'test/transport/this-functions.test.ts': `${NEEDS_INSPECTOR}: its functions use their module's classes and functions, and its messages are those of a located function`,
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
    'test/transport/remote-error.test.ts': {
      'an error whose message getter throws': "the runtime makes the error's stack without reading its message (Node's V8 reads it)",
    },
    'test/pool/stray-errors.test.ts': STRAY_ERRORS,
    'test/pool/faults.test.ts': {
      'a worker that exceeds its resourceLimits is lost': 'workers ignore resourceLimits there: the pool refuses them (test/runtime/runtimes.test.ts)',
    },
    'test/pool/worker-death.test.ts': {
      'a worker that dies (oom)': 'workers ignore resourceLimits there, so none runs out of its heap: the pool refuses them (test/runtime/runtimes.test.ts)',
    },
    'test/pool/worker-settings.test.ts': { 'an execArgv a thread refuses': WORKERS_TAKE_NO_OPTIONS },
    'test/package/exports.test.ts': {
      'a program given as a string': "Node's -e and --input-type, which this runtime's binary does not take",
    },
  },
  bun: {
    ...Object.fromEntries(PROCESS_ONLY.map((file) => [file, IN_PROCESS_RUN])),
    'test/pool/number-blocks.test.ts': {
      'integers reach the function as V8 small integers': "the check is V8's %IsSmi, which JavaScriptCore does not have",
    },
    'test/pool/apply.test.ts': {
      'a closure over an entry-script variable is refused': BUN_INLINES_CONST,
    },
    'test/process/attributes.test.ts': {
      'an unhandled rejection inside the child ends it with exit code 1': BUN_WORKER_REJECTION,
    },
  },
  // The 'thread' run on Bun: with the Node-API addon loaded (external SharedArrayBuffer), SharedMemory
  // runs there too.
  deno: {
    ...Object.fromEntries(PROCESS_ONLY.map((file) => [file, DENO_NO_PROCESS])),
    'test/memory/shared-memory.test.ts': `SharedMemory needs the native addon's process-shared memory: ${DENO_NO_PROCESS}`,
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

// The 'process' run on Bun (`--start-method process`): `both` and `bun`, but for what only threads meet
// (THREAD_ONLY: Bun's children are OS processes, with segments instead of the buffer directory), and:
const EXCLUDED_PROCESS = {
  'test/queues/shared-items.test.ts': {
    'pool results: a Value made in a worker comes back live': `${NEEDS_INSPECTOR}: the worker locates the class of the Points it returns`,
    'an instance whose class cannot be located': "Bun's transpiler inlines the outer const, so the class is self-contained and crosses as a class",
  },
  'test/pool/faults.test.ts': { 'a worker that exceeds its resourceLimits is lost': BUN_NO_LIMITS_PROCESS },
  'test/process/os-process.test.ts': { 'Pool: a per-process heap limit ends only the task that exceeds it': BUN_NO_LIMITS_PROCESS },
  'test/runtime/native.test.ts': {
    'this Node loads the V8-API build': "Bun loads only the Node-API build (the V8-API one is for Node's ABI)",
    'a worker thread that ends with async waits pending gives back their kernel wait':
      "Bun runs no napi_add_env_cleanup_hook hook when a worker thread ends: its pending async waits keep their kernel wait until the word is woken",
  },
};
const THREAD_ONLY = new Set([IN_PROCESS_RUN, SHARED_IN_ITEMS, STRAY_ERRORS, BUN_WORKER_REJECTION, WORKERS_TAKE_NO_OPTIONS]);

const args = process.argv.slice(2);
const methodAt = args.indexOf('--start-method');
const startMethod = methodAt === -1 ? 'thread' : args.splice(methodAt, 2)[1];
const [runtime, ...named] = args;
if ((runtime !== 'bun' && runtime !== 'deno') || (startMethod !== 'thread' && startMethod !== 'process')) {
  console.error('usage: node scripts/test-runtime.mjs bun|deno [--start-method thread|process] [test files…]');
  process.exit(2);
}
if (runtime === 'deno' && startMethod === 'process') {
  console.error(`--start-method process: not on Deno. ${DENO_NO_PROCESS}`);
  process.exit(2);
}
const binary = process.env[runtime === 'bun' ? 'MP_BUN' : 'MP_DENO'] || runtime;
const excluded = {};
for (const layer of [EXCLUDED.both, EXCLUDED[runtime], startMethod === 'process' ? EXCLUDED_PROCESS : {}]) {
  for (let [file, what] of Object.entries(layer)) {
    if (startMethod === 'process' && typeof what === 'string' && THREAD_ONLY.has(what)) continue;
    if (startMethod === 'process' && typeof what === 'object') what = Object.fromEntries(Object.entries(what).filter(([, why]) => !THREAD_ONLY.has(why)));
    excluded[file] = typeof what === 'string' || typeof excluded[file] !== 'object' ? what : { ...excluded[file], ...what };
  }
}
const candidates = startMethod === 'process' ? [...perMethodFiles(testFiles()), ...PROCESS_ONLY].sort() : testFiles();
const files = named.length > 0 ? named : candidates.filter((f) => typeof excluded[f] !== 'string');

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
  // A 'process' child loads the runtime and the library afresh: those tests get more room, as under Node.
  const timeout = startMethod === 'process' ? 480_000 : 120_000;
  if (runtime === 'bun') return test ? [binary, ['test', `--timeout=${timeout}`, ...nameFilter(file), `./${file}`]] : [binary, [file]];
  return test ? [binary, ['test', '-A', '--no-check', ...nameFilter(file), file]] : [binary, ['run', '-A', file]];
}

/** Runs one file; its output is printed whole when it ends, so parallel files do not interleave. */
function run(file, test = true) {
  const [cmd, args] = command(file, test);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      // Deno's sloppy imports (a `.js` specifier finds the `.ts` file) by the environment, so that the
      // programs a test runs with `process.execPath` have them too.
      env: { ...process.env, MP_TEST_START_METHODS: startMethod, NO_COLOR: '1', DENO_UNSTABLE_SLOPPY_IMPORTS: '1' },
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
const smoke = await run(startMethod === 'process' ? 'scripts/runtimes/smoke-process.ts' : 'scripts/runtimes/smoke.ts', false);
process.stdout.write(smoke.output);
let failed = smoke.code !== 0;

console.log(`# ${files.length} test files on ${runtime}, start method '${startMethod}'${named.length > 0 ? '' : `; exclusions listed at the end`}`);
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
console.log(`# ${runtime} '${startMethod}': ${pass} pass, ${fail} fail in ${results.length} files (${Math.round((Date.now() - started) / 1000)} s)`);
for (const [file, what] of Object.entries(excluded)) {
  if (!candidates.includes(file)) continue;
  if (typeof what === 'string') console.log(`# excluded ${file}: ${what}`);
  else for (const [name, why] of Object.entries(what)) console.log(`# excluded in ${file}, '${name}…': ${why}`);
}
process.exit(failed ? 1 : 0);
