// The 'thread' start method as a user's program meets it, on Node, Bun or Deno: the built package by
// its name (dist/), a pool (map by source and by module, apply, imap, a class instance), Process with
// a Value and a Lock, a Queue read by a blocking get on the main thread, terminate(). Run by
// scripts/test-runtime.mjs before the suite; on its own: `bun scripts/runtimes/smoke.ts`,
// `deno run -A scripts/runtimes/smoke.ts`, `node --import tsx scripts/runtimes/smoke.ts`.
import { Lock, Pool, Process, Queue, Value } from 'multiprocessing';
import { createHash } from 'node:crypto';
import { Point, cube, normOf } from './shapes.ts';
import { add, forever, produce } from './targets.ts';

const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';
// Every wait below is bounded: a hang fails the smoke.
const BOUND_MS = 30_000;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`smoke on ${runtime}: ${what}`);
  console.log('ok', what);
}

// Entry-script functions that use an import cross with the entry file's imports: Node only (the
// inspector finds their module scope); elsewhere they are refused with a code and the fix.
function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

const started = Date.now();
const pool = new Pool(2);
check((await pool.map((x: number) => x * x, [1, 2, 3, 4])).join() === '1,4,9,16', 'Pool.map of an arrow (by source)');
check((await pool.map(cube, [2, 3])).join() === '8,27', 'Pool.map of a function of an imported module');
if (runtime === 'node') {
  check((await pool.apply(digest, ['a'])) === digest('a'), 'an entry-script function that uses an import');
} else {
  const refused = (await pool.apply(digest, ['a']).catch((e: unknown) => e)) as { code?: string };
  check(refused.code === 'ERR_MP_FUNCTION_UNSENDABLE', 'an entry-script function that uses an import is refused with ERR_MP_FUNCTION_UNSENDABLE');
}
const [norm2, sameClass] = await pool.apply(normOf, [new Point(3, 4)]);
check(norm2 === 25 && sameClass, 'a class instance arrives as an instance of its module\'s class');
const byReference = await pool.apply<[Point], [number, boolean]>({ module: new URL('./shapes.ts', import.meta.url), name: 'normOf' }, [new Point(6, 8)]);
check(byReference[0] === 100, 'a { module, name } reference to a TypeScript module');
const ordered: number[] = [];
for await (const r of pool.imap(cube, [1, 2, 3, 4, 5], 2)) ordered.push(r);
check(ordered.join() === '1,8,27,64,125', 'imap');
const unordered: number[] = [];
for await (const r of pool.imapUnordered(cube, [1, 2, 3])) unordered.push(r);
check(unordered.sort((a, b) => a - b).join() === '1,8,27', 'imapUnordered');
pool.close();
await pool.join();

const counter = new Value('i', 0, { lock: false });
const lock = new Lock();
const adders = [0, 1].map(() => new Process({ target: add, args: [counter, lock, 10_000] }));
for (const p of adders) p.start();
for (const p of adders) await p.join(BOUND_MS);
check(counter.value === 20_000 && adders.every((p) => p.exitCode === 0), 'Process × 2 + Value + Lock: 20000 exact');

const q = new Queue<{ i: number } | null>();
const producer = new Process({ target: produce, args: [q, 1000] });
producer.start();
let got = 0;
while (q.get(true, BOUND_MS) !== null) got++;
await producer.join(BOUND_MS);
check(got === 1000 && producer.exitCode === 0, 'Queue: 1000 items from a Process, blocking get on the main thread');

const stuck = new Process({ target: forever });
stuck.start();
stuck.terminate();
await stuck.join(BOUND_MS);
check(stuck.exitCode === -15, 'Process.terminate(): exitCode -15');

const doomed = new Pool(1);
const running = doomed.apply(forever).catch((e: unknown) => e);
await doomed.terminate();
check((await running) instanceof Error, 'Pool.terminate() rejects a running task');
console.log(`smoke passed on ${runtime} in ${Date.now() - started} ms`);
