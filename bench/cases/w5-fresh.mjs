/**
 * W5 as users measure start-up: a fresh process that imports the library, creates a pool of 2, gets
 * its first result and closes (programs/first-result.mjs; with `runner: 'tsx'`, the TypeScript twin
 * run with `node --import tsx`). Figure: ms from the process's start to the first result (lower is
 * better), import included; extra: the whole process, from spawn to exit, as the parent sees it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCase, now, check } from './lib/harness.mjs';

const MARKER = '@@first-result ';

/** @param {string[]} args @returns {Promise<{ stdout: string, stderr: string, code: number | null, wholeMs: number }>} */
function runProgram(args) {
  const started = now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code, wholeMs: now() - started }));
  });
}

/** @param {{ impl: string, workers: number, runner: 'node' | 'tsx' }} params */
async function measure({ impl, workers, runner }) {
  const program = fileURLToPath(new URL(`programs/first-result.${runner === 'tsx' ? 'ts' : 'mjs'}`, import.meta.url));
  const args = [...(runner === 'tsx' ? ['--import', 'tsx'] : []), program, impl, String(workers)];
  const run = await runProgram(args);
  const line = run.stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (line === undefined) throw new Error(`the program exited (code ${run.code}) without a result: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const { first, firstMs } = JSON.parse(line.slice(MARKER.length));
  check(first === 27, `first result ${first}, expected 27`);
  check(run.code === 0, `the program exited with code ${run.code}`);
  return { value: firstMs, extra: { wholeMs: run.wholeMs } };
}

runCase(Object.fromEntries(['multiprocessing', 'piscina', 'tinypool', 'workerpool', 'poolifier'].map((impl) => [impl, (params) => measure({ ...params, impl })])));
