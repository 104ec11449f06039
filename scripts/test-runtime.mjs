#!/usr/bin/env node
// Runs the test suite under the 'thread' start method on Bun or Deno: `node scripts/test-runtime.mjs bun`
// (or `deno`), optionally followed by test files. The runtime's binary is `MP_BUN` / `MP_DENO`, else
// `bun` / `deno` on PATH. First the smoke program (scripts/runtimes/smoke.ts) runs against the built
// package (dist/, by its package name, as a user's program imports it), then the test files.
//
// Each file runs in a process of its own, two at a time (as node's runner does; `bun test` and
// `deno test` would otherwise load every file into one process, and the library's per-thread state
// with them). Both run TypeScript natively and implement `node:test` on their own runners, so the
// files run as they are, from the sources (Deno with --sloppy-imports, for the `.js` specifiers of
// `.ts` files). Files listed in EXCLUDED exercise what only Node has; each says why.
import { spawn } from 'node:child_process';
import { testFiles } from './test-files.mjs';

// Per runtime, what is not run: a whole file (with its reason), or some of its tests (the start of the
// test's name, with the reason). `both` applies to each.
const NEEDS_INSPECTOR = "Node's inspector only: Bun's and Deno's cannot locate a function (function-location.ts)";
const EXCLUDED = {
  both: {
    'test/pool/errors.test.ts': {
      'a function shipped by source shows its real file': `${NEEDS_INSPECTOR}, so its frames keep the data: module's lines`,
    },
    'test/package/installed.test.ts': {
      'the natural program': `${NEEDS_INSPECTOR}: the program's entry-script functions use its imports`,
    },
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
    'test/queues/shared-items.test.ts':
      "a shared object inside a queue item or pipe message needs the buffer directory's synchronous BroadcastChannel read (buffer-directory.ts), which neither has",
    'test/runtime/native.test.ts': "the 'process' start method's native addon (Node's V8-API build; Node-API under Node), not the 'thread' method",
    'test/pool/number-blocks.test.ts': {
      'integers reach the function as V8 small integers': "V8's %IsSmi needs node's --allow-natives-syntax",
    },
  },
  bun: {
    'test/pool/apply.test.ts': {
      'a closure over an entry-script variable is refused': "Bun's transpiler inlines the const, so the closure is self-contained and runs",
    },
    'test/pool/worker-settings.test.ts': { 'an execArgv a thread refuses': "Bun's workers take no Node options, so none is refused" },
    'test/process/attributes.test.ts': {
      'an unhandled rejection inside the child ends it with exit code 1': "Bun's worker lives on after an unhandled rejection (exit code 0)",
    },
    'test/transport/remote-error.test.ts': {
      'an error whose message getter throws': "JavaScriptCore makes an error's stack without reading its message",
    },
    'test/pool/stray-errors.test.ts': "Bun does not report a worker's uncaught error (a timer's, an unhandled rejection) as an 'error' event",
  },
  deno: {
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

// The tests of a file that run: every one whose name does not start as an excluded one's does.
function nameFilter(file) {
  const starts = typeof excluded[file] === 'object' ? Object.keys(excluded[file]) : [];
  if (starts.length === 0) return [];
  const pattern = `^(?!${starts.map((start) => start.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`;
  return runtime === 'bun' ? ['--test-name-pattern', pattern] : ['--filter', `/${pattern}/`];
}

function command(file, test = true) {
  if (runtime === 'bun') return test ? [binary, ['test', '--timeout=120000', ...nameFilter(file), `./${file}`]] : [binary, [file]];
  return test ? [binary, ['test', '-A', '--no-check', '--sloppy-imports', ...nameFilter(file), file]] : [binary, ['run', '-A', file]];
}

/** Runs one file; its output is printed whole when it ends, so parallel files do not interleave. */
function run(file, test = true) {
  const [cmd, args] = command(file, test);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, MP_TEST_START_METHODS: 'thread', NO_COLOR: '1' },
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
      resolve({ file, code, signal, output, ...counts(output) });
    });
  });
}

// Each runner's summary line: Bun prints " 6 pass" and " 0 fail", Deno "ok | 6 passed | 0 failed".
function counts(output) {
  const bun = [/^\s*(\d+) pass$/m.exec(output), /^\s*(\d+) fail$/m.exec(output)];
  const deno = /(\d+) passed[^|\n]*\| (\d+) failed/.exec(output);
  if (runtime === 'bun') return { pass: Number(bun[0]?.[1] ?? 0), fail: Number(bun[1]?.[1] ?? 0) };
  return { pass: Number(deno?.[1] ?? 0), fail: Number(deno?.[2] ?? 0) };
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
      const ok = result.code === 0 && result.fail === 0;
      if (!ok) failed = true;
      console.log(`${ok ? 'ok' : 'FAIL'} ${file}: ${result.pass} pass, ${result.fail} fail${result.signal ? ` (${result.signal})` : ''}`);
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
