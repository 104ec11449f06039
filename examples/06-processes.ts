/**
 * 06 · Real OS processes: the 'process' start method
 *
 * Python's `multiprocessing` runs each child in a process of its own. `getContext('process')` does too
 * (`child_process.fork`), with the same classes: a shared `Value` and a `Queue` work across the
 * processes (memfd segments and futex(2), through the package's native addon), and a child that
 * crashes ends only itself. Run on its own with `npx tsx examples/06-processes.ts` (after `npm run
 * build` and `npm run build:native`).
 */
import { getContext, type Queue as QueueType, type Value as ValueType } from 'multiprocessing';

const { Pool, Process, Queue, Value } = getContext('process');

// Self-contained functions: they cross by source, into another OS process.
function addTo(counter: ValueType<'i'>, times: number): number {
  for (let i = 0; i < times; i++) counter.withLock(() => { counter.value += 1; });
  return process.pid;
}

function produce(queue: QueueType<{ from: number; i: number }>, count: number): void {
  for (let i = 0; i < count; i++) queue.put({ from: process.pid, i });
}

async function main(): Promise<void> {
  let hits: ValueType<'i'>;
  try {
    hits = new Value('i', 0);
  } catch (error) {
    // Without a C++ compiler at install, the addon is missing: processes still run, without shared memory.
    if ((error as { code?: string }).code !== 'ERR_MP_NATIVE_UNAVAILABLE') throw error;
    console.log(`skipped: ${(error as Error).message}`);
    return;
  }
  console.log('--- four processes add 1,000 each to one shared Value, under its lock');
  {
    await using pool = new Pool(4);
    const pids = await pool.starmap(addTo, [[hits, 1000], [hits, 1000], [hits, 1000], [hits, 1000]]);
    console.log(`hits.value = ${hits.value}, from ${new Set(pids).size} processes, none of them this one (pid ${process.pid}): ${!pids.includes(process.pid)}`);

    console.log('\n--- a task that aborts its process fails alone; the pool replaces the process');
    try {
      await pool.apply(() => process.abort(), []);
    } catch (error) {
      console.log(`the task: ${(error as Error).name}`);
    }
    console.log(`the next task: ${await pool.apply((x: number) => x * 2, [21])}`);
  }

  console.log('\n--- a Queue from a child process to this one');
  const queue = new Queue<{ from: number; i: number }>();
  const child = new Process({ target: produce, args: [queue, 3] });
  child.start();
  for (let i = 0; i < 3; i++) {
    const item = queue.get(true, 10_000);
    console.log(`got item ${item.i} from pid ${item.from === child.pid ? 'of the child' : item.from}`);
  }
  await child.join();
  console.log(`child exit code: ${child.exitCode}`);
}

await main();
