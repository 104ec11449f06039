// Compile-time checks that types flow from the function into the pool's results (`npm run typecheck`).
// Nothing here runs: a wrong inference makes tsc fail.
import { MessageChannel } from 'node:worker_threads';
import { Pool, Process, AsyncResult, type FunctionReference, type PoolStats, type TransferItem } from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

declare const pool: Pool;
const cube = (x: number): number => x * x * x;
const greet = async (name: string, times: number): Promise<string> => name.repeat(times);
const ref: FunctionReference = { module: './tasks.js', name: 'cube' };

export async function check(): Promise<void> {
  const cubes = pool.map(cube, [1, 2, 3]);
  assertType<Equal<typeof cubes, Promise<number[]>>>();

  const greeting = pool.apply(greet, ['a', 2]);
  assertType<Equal<typeof greeting, Promise<string>>>(); // async results are unwrapped

  const starred = pool.starmap(greet, [['a', 1], ['b', 2]]);
  assertType<Equal<typeof starred, Promise<string[]>>>();

  const later = pool.applyAsync(cube, [2]);
  assertType<Equal<typeof later, AsyncResult<number>>>();
  const value = await later;
  assertType<Equal<typeof value, number>>();

  for await (const y of pool.imap(cube, [1, 2])) assertType<Equal<typeof y, number>>();
  for await (const y of pool.imapUnordered(greet as (s: string) => Promise<string>, ['x'])) {
    assertType<Equal<typeof y, string>>();
  }

  const byReference = pool.apply(ref, [1]);
  assertType<Equal<typeof byReference, Promise<unknown>>>();

  // @ts-expect-error: cube takes numbers
  void pool.map(cube, ['a']);
  // @ts-expect-error: greet takes (string, number)
  void pool.apply(greet, ['a', 'b']);
  // @ts-expect-error: args must match the target
  new Process({ target: cube, args: ['x'] });
  new Process({ target: cube, args: [1] });

  // transfer takes buffers and ports (our own TransferItem: @types/node 26 has no TransferListItem).
  const { port1 } = new MessageChannel();
  const items: TransferItem[] = [new ArrayBuffer(8), new SharedArrayBuffer(8), port1];
  void pool.apply(cube, [1], { transfer: items });
  // @ts-expect-error: a typed array is not transferable (its .buffer is)
  void pool.apply(cube, [1], { transfer: [new Float64Array(1)] });

  // Backpressure, priorities and metrics (extensions of Python's Pool).
  new Pool({ processes: 2, maxQueue: 'auto' });
  new Pool({ processes: 2, maxQueue: 100 });
  // @ts-expect-error: maxQueue is a number or 'auto'
  new Pool({ processes: 2, maxQueue: 'max' });
  void pool.apply(cube, [1], { priority: 5 });
  void pool.map(cube, [1], 1, { priority: -1 });
  const drained = pool.drained();
  assertType<Equal<typeof drained, Promise<void>>>();
  const full: boolean = pool.needsDrain;
  void full;
  const stats = pool.stats();
  assertType<Equal<typeof stats, PoolStats>>();
  assertType<Equal<typeof stats.waitTime.p99, number>>();
  assertType<Equal<typeof stats.workers.idle, number>>();
  // Elastic size and worker settings: process.env itself (values string | undefined) is an env, and
  // readonly arrays are argv and execArgv.
  const argv = ['--mode', 'fast'] as const;
  const elastic = new Pool({ processes: 4, minProcesses: 0, idleTimeout: Infinity, env: process.env, argv, execArgv: argv, name: 'w' });
  assertType<Equal<typeof elastic.size, number>>();
  // @ts-expect-error: env values are strings
  new Pool({ env: { DEBUG: 1 } });
}
