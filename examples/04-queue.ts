/**
 * 04 · Exchanging objects between processes
 *
 * Python's tutorial: "multiprocessing supports two types of communication channel between processes":
 * queues and pipes. Run on its own with `npx tsx examples/04-queue.ts` (after `npm run build`).
 */
import { Pipe, Process, Queue, JoinableQueue, type Connection } from 'multiprocessing';

// Self-contained functions: they use only their arguments, so they cross by source. The queue and the
// connection arrive in the child live, over the same shared memory.
function f(q: Queue<unknown>): void {
  q.put([42, null, 'hello']);
}

function g(conn: Connection<unknown>): void {
  conn.send([42, null, 'hello']);
  conn.close();
}

function worker(tasks: JoinableQueue<number | null>, results: Queue<string>): void {
  for (;;) {
    const n = tasks.get();
    if (n === null) {
      tasks.taskDone();
      break;
    }
    results.put(`${n} squared is ${n * n}`);
    tasks.taskDone();
  }
}

async function main(): Promise<void> {
  console.log('--- Queues');
  // Python:  q = Queue(); p = Process(target=f, args=(q,)); p.start(); print(q.get()); p.join()
  const q = new Queue();
  const p = new Process({ target: f, args: [q] });
  p.start();
  console.log(q.get()); // prints "[ 42, null, 'hello' ]"
  await p.join();

  console.log('\n--- Pipes');
  // Python:  parent_conn, child_conn = Pipe(); ... print(parent_conn.recv())
  const [parentConn, childConn] = Pipe();
  const r = new Process({ target: g, args: [childConn] });
  r.start();
  console.log(parentConn.recv()); // prints "[ 42, null, 'hello' ]"
  await r.join();

  console.log('\n--- A JoinableQueue of tasks, two workers, and a results queue');
  const tasks = new JoinableQueue<number | null>();
  const results = new Queue<string>();
  const workers = [0, 1].map(() => new Process({ target: worker, args: [tasks, results] }));
  for (const w of workers) w.start();
  for (let n = 1; n <= 5; n++) tasks.put(n);
  for (const _ of workers) tasks.put(null);
  await tasks.joinAsync(); // every task marked done
  const lines: string[] = [];
  while (!results.empty()) lines.push(results.get());
  console.log(lines.sort().join('\n'));
  await Promise.all(workers.map((w) => w.join()));

  if ([p, r, ...workers].some((w) => w.exitCode !== 0)) process.exitCode = 1;
}

await main();
