// Compile-time checks of the distributed shared objects (`npm run typecheck`): values typed from the
// typecode, queue items from the type argument, fencing tokens as numbers, waits taking the local shape.
import { Array as DistributedArray, Barrier, Event, JoinableQueue, Lock, Queue, Semaphore, Value } from '../../src/distributed/index.js';

declare const signal: AbortSignal;
const where = { url: 'redis://127.0.0.1:6379', name: 'types' };

export async function check(): Promise<void> {
  const lock = new Lock({ ...where, lease: 5000 });
  const token: number | false = await lock.acquireAsync({ timeout: 10, signal });
  const blockingToken: number | false = lock.acquire(false);
  const fence: number | undefined = lock.fencingToken;
  await using _held = await lock.guardAsync({ signal });
  using _scoped = lock.guard(10);
  using _localSpelling = await lock.guardAsync();

  const hits = new Value(where, 'i', 0);
  const n: number = await hits.addAsync(1);
  const big = new Value(where, 'q', 0n);
  const b: bigint = await big.getAsync();
  // @ts-expect-error a 64-bit typecode takes bigints
  await big.setAsync(1);
  const flag: boolean = new Value(where, '?', false).value;
  using _valueHeld = hits.guard();
  const valueToken: number | false = hits.acquire(false);
  const doubled: number = hits.withLock(() => hits.value * 2);

  const histogram = new DistributedArray(where, 'd', 4);
  const values: number[] = await histogram.toArrayAsync();

  const jobs = new Queue<{ id: number }>(where, 10);
  await jobs.putAsync({ id: 1 }, { signal });
  // @ts-expect-error items are typed
  await jobs.putAsync('not a job');
  const job: { id: number } = await jobs.getAsync(100);
  for await (const item of jobs) item.id satisfies number;
  const joinable = new JoinableQueue<string>(where);
  const joined: boolean = await joinable.joinAsync({ timeout: 10 });

  const index: number = await new Barrier(where, 3, { action: () => {}, timeout: 1000 }).waitAsync({ signal });
  const set: boolean = await new Event(where).waitAsync({ signal });
  const got: number | boolean = await new Semaphore(where, 2).acquireAsync(10);
  void [token, blockingToken, fence, n, b, valueToken, doubled, flag, values, job, joined, index, set, got];
}
