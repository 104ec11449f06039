// The 'process' start method as a user's program meets it, on Node or Bun: the built package by its
// name (dist/), getContext('process') with a pool (map), Process × 4 with a Value and a Lock across OS
// processes (exact count), a Queue filled by a child and read by a blocking get, terminate(). Run by
// `scripts/test-runtime.mjs bun --start-method process` before the suite; on its own:
// `bun scripts/runtimes/smoke-process.ts`, `node --import tsx scripts/runtimes/smoke-process.ts`.
import { getContext } from 'multiprocessing';
import { add, forever, produce } from './targets.ts';

const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';
// Every wait below is bounded: a hang fails the smoke.
const BOUND_MS = 30_000;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`process smoke on ${runtime}: ${what}`);
  console.log('ok', what);
}

const started = Date.now();
const ctx = getContext('process');
const pool = new ctx.Pool(2);
check((await pool.map((x: number) => x * x, [1, 2, 3, 4])).join() === '1,4,9,16', "getContext('process').Pool.map");
const pids = new Set(await pool.map(() => process.pid, [1, 2, 3, 4, 5, 6], 1));
check(!pids.has(process.pid), 'pool tasks run in other OS processes');
pool.close();
await pool.join();

const counter = new ctx.Value('i', 0, { lock: false });
const lock = new ctx.Lock();
const adders = [0, 1, 2, 3].map(() => new ctx.Process({ target: add, args: [counter, lock, 1000] }));
for (const p of adders) p.start();
for (const p of adders) await p.join(BOUND_MS);
check(adders.every((p) => p.pid !== process.pid && p.exitCode === 0), 'Process × 4 in child processes, exit code 0');
check(counter.value === 4000, `Process × 4 + Value + Lock: 4 × 1000 locked increments = ${counter.value} (4000 expected)`);

const q = new ctx.Queue<{ i: number } | null>();
const producer = new ctx.Process({ target: produce, args: [q, 1000] });
producer.start();
let got = 0;
while (q.get(true, BOUND_MS) !== null) got++;
await producer.join(BOUND_MS);
check(got === 1000 && producer.exitCode === 0, 'Queue: 1000 items from a child process, blocking get on the main thread');

const stuck = new ctx.Process({ target: forever });
stuck.start();
stuck.terminate();
await stuck.join(BOUND_MS);
check(stuck.exitCode === -15, 'Process.terminate(): SIGTERM, exitCode -15');
console.log(`process smoke passed on ${runtime} in ${Date.now() - started} ms`);
