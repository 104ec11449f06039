// No 'process' child outlives what should end it: its own signal (exit code minus the signal's number,
// as in Python), terminate() and kill(), its pool's terminate(), or its program's death by SIGKILL or
// SIGTERM. Each check looks at the OS (kill(pid, 0), /proc), with a deadline. Runs once, on Linux.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { idleForever, killSelf, pid } from '../fixtures/process/os-tasks.js';
import { isGone, processContext, runningChildren, T } from '../fixtures/process/os.js';
import { until, within } from '../fixtures/until.js';

const { Pool, Process } = processContext;

test('Process: a child ended by a signal has minus its number as exitCode (-15, -9), and its pid is gone', T, async () => {
  for (const [signal, code] of [['SIGTERM', -15], ['SIGKILL', -9]] as const) {
    const p = new Process({ target: killSelf, args: [signal] });
    p.start();
    await within(p.join(), `the child killing itself with ${signal}`, 60_000);
    assert.equal(p.exitCode, code);
    await until(`pid ${p.pid} gone`, () => isGone(p.pid!), 10_000);
  }
  // terminate() and kill() signal the OS process itself: gone, not merely reported so.
  for (const [stop, code] of [['terminate', -15], ['kill', -9]] as const) {
    const p = new Process({ target: idleForever });
    p.start();
    p[stop]();
    await within(p.join(), `join after ${stop}()`, 60_000);
    assert.equal(p.exitCode, code);
    await until(`pid ${p.pid} gone after ${stop}()`, () => isGone(p.pid!), 10_000);
  }
});

test('Pool: terminate() leaves no worker process behind', T, async () => {
  const pool = new Pool(3);
  const pids = new Set<number>();
  for (let round = 0; pids.size < 3 && round < 50; round++) {
    for (const p of await within(pool.map(pid, [1, 2, 3, 4, 5, 6], 1), 'map', 60_000)) pids.add(p);
  }
  assert.equal(pids.size, 3);
  await within(pool.terminate(), 'terminate', 60_000);
  await until('no worker left', () => [...pids].every(isGone), 10_000);
  assert.deepEqual(runningChildren().filter((child) => pids.has(child)), []);
});

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`the program killed by ${signal}: its process children (daemon or not, busy in synchronous code, pool workers) exit too`, T, async () => {
    const program = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/process/orphans.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      program.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      await until('the program printed its children', () => out.includes('\n'), 60_000);
      const children = JSON.parse(out) as number[];
      assert.equal(children.length, 5);
      assert.ok(children.every((child) => !isGone(child)));
      program.kill(signal);
      await until(`every child of the program gone after ${signal}`, () => children.every(isGone), 10_000);
    } finally {
      program.kill('SIGKILL');
    }
  });
}
