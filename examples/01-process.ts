/**
 * 01 · The Process class
 *
 * Python's tutorial, first section: spawn a Process with a target and arguments, start() it, join() it.
 * Run on its own with `npx tsx examples/01-process.ts` (after `npm run build`).
 */
import { Process, cpuCount, currentProcess, parentProcess } from 'multiprocessing';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// A self-contained function (it uses nothing but its arguments and globals) crosses by source.
function f(name: string): void {
  console.log('hello', name);
}

// These use imports: they cross with what they use of this file (its imports are made again in the
// child). Workers never import this entry script, so the work below needs no `if __name__ == '__main__':`.
function info(title: string): void {
  const me = currentProcess();
  const parent = parentProcess();
  console.log(title);
  console.log('module name:', relative(process.cwd(), fileURLToPath(import.meta.url)));
  console.log('parent process:', parent === null ? `none (OS parent pid ${process.ppid})` : `${parent.name}, ident ${parent.ident}`);
  console.log('process id:', `${me.name}, pid ${me.pid}, ident ${me.ident}`);
}

function greet(name: string): void {
  info('function greet');
  console.log('hello', name);
}

function square(x: number): number {
  const result = x * x;
  console.log(`${currentProcess().name}: ${x} squared is ${result}`);
  return result;
}

async function main(): Promise<void> {
  console.log('--- hello bob');
  const p = new Process({ target: f, args: ['bob'] });
  p.start();
  await p.join();
  console.log(`exitCode: ${p.exitCode}`);

  console.log('\n--- who is who');
  info('main line');
  const q = new Process({ target: greet, args: ['bob'] });
  q.start();
  await q.join();

  console.log(`\n--- one process per core (${cpuCount()})`);
  const workers = Array.from({ length: cpuCount() }, (_, i) => new Process({ target: square, args: [i] }));
  for (const w of workers) w.start();
  await Promise.all(workers.map((w) => w.join()));
  console.log('exit codes:', workers.map((w) => w.exitCode).join(' '));

  console.log('\n--- a closure cannot cross');
  const base = 10;
  try {
    new Process({ target: (x: number) => x + base, args: [1] });
  } catch (error) {
    console.log((error as Error).message);
  }

  if ([p, q, ...workers].some((w) => w.exitCode !== 0)) process.exitCode = 1;
}

await main();
