/**
 * 05 · Using a pool of workers
 *
 * Python's tutorial, "Using a pool of workers": map, imapUnordered, applyAsync with a timeout, and a
 * pool that stays usable after a result took too long. Run on its own with `npx tsx examples/05-pool.ts`
 * (after `npm run build`).
 */
import { Pool, TimeoutError, currentProcess } from 'multiprocessing';
import { setTimeout as sleep } from 'node:timers/promises';

// Self-contained: crosses by source.
function f(x: number): number {
  return x * x;
}

// These use imports: they cross with what they use of this file. Workers never import this entry
// script, so the work below needs no `if __name__ == '__main__':`.
function whoAmI(): string {
  return currentProcess().name;
}

async function nap(ms: number): Promise<string> {
  await sleep(ms);
  return `slept ${ms} ms`;
}

async function main(): Promise<void> {
  {
    await using p = new Pool(5);
    console.log(await p.map(f, [1, 2, 3]));
  }

  // start 4 worker processes
  const pool = new Pool({ processes: 4 });

  // print "[0, 1, 4,..., 81]"
  console.log(await pool.map(f, Array.from({ length: 10 }, (_, i) => i)));

  // print same numbers in arbitrary order
  const unordered: number[] = [];
  for await (const i of pool.imapUnordered(f, Array.from({ length: 10 }, (_, i) => i))) unordered.push(i);
  console.log(unordered.join(' '));

  // evaluate "f(20)" asynchronously; runs in *only* one worker
  const res = pool.applyAsync(f, [20]);
  console.log(await res.get(1000)); // prints "400"

  // evaluate "whoAmI()" asynchronously: prints the name of the worker that ran it
  // (no timeout here: a worker's first call of a function loads its imports, which takes a moment)
  console.log(await pool.applyAsync(whoAmI).get());

  // launching multiple evaluations asynchronously *may* use more workers
  const multiple = Array.from({ length: 4 }, () => pool.applyAsync(whoAmI));
  console.log(await Promise.all(multiple.map((r) => r.get())));

  // make a single worker sleep for 3 seconds
  const sleepy = pool.applyAsync(nap, [3000]);
  try {
    console.log(await sleepy.get(1000));
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log('We lacked patience and got a multiprocessing.TimeoutError');
  }
  console.log('For the moment, the pool remains available for more work');
  console.log(await pool.apply(f, [7]));

  // exiting: close() takes no new work and join() waits for what is queued (the nap, too)
  pool.close();
  await pool.join();
  console.log('Now the pool is closed and no longer available');
}

await main();
