/**
 * A cluster on this machine for the distributed workloads: a redis-server on a free loopback port with
 * nothing on disk, and worker processes (ours: the `multiprocessing worker` command of dist/; the
 * hand-written baseline: `workers/bullmq-worker.mjs`), each ready once it prints its ready line. Started
 * before the clock, stopped (SIGKILL, then waited for) after it, whatever happened.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `command args`, resolving once its output contains `ready` (rejecting if it exits first, or after 60 s). */
function startChild(command, args, ready) {
  const child = spawn(command, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready within 60 s:\n${text}`)), 60_000);
    const look = (chunk) => {
      text += chunk;
      if (text.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.setEncoding('utf8').on('data', look);
    child.stderr.setEncoding('utf8').on('data', (chunk) => (text += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code}) before it was ready:\n${text}`));
    });
  });
}

/** A redis-server for this case; resolves with its URL. */
export async function startRedis() {
  const port = await freePort();
  await startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'Ready to accept connections');
  return `redis://127.0.0.1:${port}`;
}

/**
 * `count` worker commands of our library, each with `processes` threads, `concurrency` jobs at once and
 * a `lostTaskTimeout` in ms (undefined: the command's defaults), serving bench/cases/tasks.mjs.
 * Resolves with their child processes.
 */
export async function startOurWorkers(url, namespace, count, processes, concurrency, lostTaskTimeout) {
  const args = ['dist/esm/cli.js', 'worker', '--url', url, '--namespace', namespace, '--import', './bench/cases/tasks.mjs', '--processes', String(processes)];
  if (concurrency !== undefined) args.push('--concurrency', String(concurrency));
  if (lostTaskTimeout !== undefined) args.push('--lost-task-timeout', String(lostTaskTimeout));
  return Promise.all(Array.from({ length: count }, () => startChild(process.execPath, args, 'serving namespace')));
}

/** `count` hand-written BullMQ workers (`workers/bullmq-worker.mjs`) on `queue`, `concurrency` jobs at once each. */
export async function startBullmqWorkers(url, queue, count, concurrency) {
  const args = ['bench/cases/workers/bullmq-worker.mjs', url, queue, String(concurrency)];
  await Promise.all(Array.from({ length: count }, () => startChild(process.execPath, args, 'bullmq worker ready')));
}

/** Kills everything this case started and waits for the exits. */
export async function stopCluster() {
  const all = children.splice(0);
  for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(all.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
}
