// Compile-time checks that types flow from the function into the pool's results (`npm run typecheck`).
// Nothing here runs: a wrong inference makes tsc fail.
import { MessageChannel } from 'node:worker_threads';
import { Pool, Process, AsyncResult, type FunctionReference, type PoolFunction, type PoolStats, type TransferItem } from '../../src/index.js';
import type { Pool as DistributedPool } from '../../src/distributed/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

declare const pool: Pool;
declare const cluster: DistributedPool;
const cube = (x: number): number => x * x * x;
const greet = async (name: string, times: number): Promise<string> => name.repeat(times);
const ref: FunctionReference = { module: './tasks.js', name: 'cube' };
const identity = <T>(x: T): T => x;
const pair = <T>(x: T, y: T): [T, T] => [x, y];
const lengthOf = <T extends { length: number }>(x: T): number => x.length;
const mul = (a: number, b: number): number => a * b;
function calculate<A extends unknown[], R>(func: (...args: A) => R, args: A): R {
  return func(...args);
}

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
  // args are required when the target has required parameters, and may be left out otherwise.
  // @ts-expect-error: greet needs (string, number)
  new Process({ target: greet });
  // @ts-expect-error: also beside other options
  new Process({ target: cube, name: 'cuber', daemon: true });
  new Process({ target: (): void => undefined });
  new Process({ target: (times?: number): number => times ?? 1 });
  new Process({ target: (times?: number): number => times ?? 1, args: [2] });
  new Process({ target: (...xs: number[]): number => xs.length });
  new Process({ target: identity, args: ['x'] });
  new Process({ target: ref });
  new Process({ name: 'idle' });
  new Process();
  // @ts-expect-error: JavaScript has no keyword arguments
  new Process({ target: cube, args: [1], kwargs: { x: 1 } });

  // Generic functions: their types flow through the call (the Python docs' calculate(func, args)).
  const ids = pool.map(identity, [1, 2, 3]);
  assertType<Equal<typeof ids, Promise<number[]>>>();
  const idsLater = pool.mapAsync(identity, ['a']);
  assertType<Equal<typeof idsLater, AsyncResult<string[]>>>();
  for await (const y of pool.imapUnordered(identity, [true])) assertType<Equal<typeof y, boolean>>();
  const task: [typeof mul, [number, number]] = [mul, [3, 7]];
  const calculated = pool.apply(calculate, task);
  assertType<Equal<typeof calculated, Promise<number>>>();
  const inline = pool.apply(calculate, [mul, [3, 7]]);
  assertType<Equal<typeof inline, Promise<number>>>();
  const calculatedAsync = pool.applyAsync(calculate, [(s: string) => s.length, ['abc']]);
  assertType<Equal<typeof calculatedAsync, AsyncResult<number>>>();
  const calculations = pool.starmap(calculate, [task, task]);
  assertType<Equal<typeof calculations, Promise<number[]>>>();
  const paired = pool.starmapAsync(pair, [[1, 2]]);
  assertType<Equal<typeof paired, AsyncResult<[number, number][]>>>();
  // @ts-expect-error: mul takes numbers, so calculate's args must be numbers
  void pool.apply(calculate, [mul, ['a', 'b']]);
  // @ts-expect-error: the result of identity over numbers is number[]
  const wrongIds: Promise<string[]> = pool.map(identity, [1, 2]);
  void wrongIds;
  // @ts-expect-error: a generic function with a constraint still checks its items
  void pool.map(lengthOf, [1, 2]);
  // A value typed as the union (a reference or a function) is still taken, and keeps its result type.
  const either = pool.apply(cube as PoolFunction<[number], number>, [1]);
  assertType<Equal<typeof either, Promise<number>>>();
  // @ts-expect-error: and its argument types are still checked
  void pool.apply(cube as PoolFunction<[number], number>, ['a']);
  // @ts-expect-error: a reference is an object with module and name
  void pool.apply({ module: './tasks.js' }, [1]);

  // The distributed Pool shares the surface.
  const clustered = cluster.map(identity, [1, 2]);
  assertType<Equal<typeof clustered, Promise<number[]>>>();

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
