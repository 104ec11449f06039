// Compile-time checks of the one shape every async wait takes (`npm run typecheck`): a timeout in ms,
// or `{ timeout?, signal? }`; `{ signal? }` alone where the blocking form has no timeout.
import { Barrier, Condition, Event, JoinableQueue, Lock, Pipe, Queue, Semaphore, SimpleQueue, Value, type WaitOptions } from '../../src/index.js';

declare const signal: AbortSignal;

export async function check(): Promise<void> {
  const lock = new Lock();
  const options: WaitOptions = { timeout: 1000, signal };
  const got: boolean = await lock.acquireAsync(1000);
  await lock.acquireAsync(options);
  await lock.acquireAsync({ signal });
  using _ = await lock.guardAsync({ timeout: 10 });
  const n: number = await lock.withLockAsync(() => 1, { signal });
  await new Semaphore(2).acquireAsync({ signal });
  await new Value('i', 0).acquireAsync({ timeout: 5 });
  await new Event().waitAsync({ signal });
  const cond = new Condition();
  await cond.waitAsync({ timeout: 10, signal });
  const ready: boolean = await cond.waitForAsync(() => true, { signal });
  const woke: number = cond.notify(2);
  await new Barrier(2).waitAsync({ signal });
  const q = new Queue<number>();
  const item: number = await q.getAsync({ signal });
  await q.putAsync(1, { timeout: 10, signal });
  await new JoinableQueue<number>().joinAsync({ signal });
  await new SimpleQueue<string>().getAsync({ signal });
  const [a] = Pipe<string>();
  const message: string = await a.recvAsync({ signal });
  await a.recvBytesAsync({ signal });
  // @ts-expect-error recv has no timeout in Python: only { signal }
  await a.recvAsync(1000);
  // @ts-expect-error nor does SimpleQueue.get
  await new SimpleQueue().getAsync({ timeout: 5 });
  void [got, n, ready, woke, item, message];
}
