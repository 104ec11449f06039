/**
 * 02 · Sharing state: shared memory (Value)
 *
 * Python's tutorial, "Sharing state between processes": a `Value` and an `Array` live in shared
 * memory, so the child's writes are seen by the parent. Then the classic race: `n.value += 1` from two
 * processes loses updates without the lock, and is exact with it.
 * Run on its own with `npx tsx examples/02-shared-value.ts` (after `npm run build`).
 */
// `SharedArray` is Python's `Array` (also exported under that name); importing it as `Array` would
// shadow the global `Array` in this module (`Array.from` would be gone).
import { SharedArray, Barrier, Process, Value } from 'multiprocessing';

// Self-contained functions (they use only their arguments): they cross by source.
function f(n: Value<'d'>, a: SharedArray<'i'>): void {
  n.value = 3.1415927;
  for (let i = 0; i < a.length; i++) a[i] = -a[i];
}

function addUnlocked(n: Value<'i'>, start: Barrier, times: number): void {
  start.wait(10_000); // both go on together, so they really overlap
  for (let i = 0; i < times; i++) n.value += 1;
}

function addLocked(n: Value<'i'>, start: Barrier, times: number): void {
  start.wait(10_000);
  const lock = n.getLock();
  for (let i = 0; i < times; i++) {
    lock.acquire();
    n.value += 1;
    lock.release();
  }
}

async function race(target: typeof addLocked, times: number): Promise<{ value: number; ms: number }> {
  const n = new Value('i', 0);
  const start = new Barrier(3); // the two workers and this thread
  const ps = [0, 1].map(() => new Process({ target, args: [n, start, times] }));
  for (const p of ps) p.start();
  await start.waitAsync(10_000);
  const t0 = performance.now();
  await Promise.all(ps.map((p) => p.join()));
  return { value: n.value, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  console.log('--- the tutorial: Value("d", 0.0) and Array("i", range(10))');
  const num = new Value('d', 0.0);
  const arr = new SharedArray('i', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const p = new Process({ target: f, args: [num, arr] });
  p.start();
  await p.join();
  console.log(num.value);
  console.log([...arr]);

  // Unlocked increments are so fast that a small count may finish before the other process starts.
  const many = 2_000_000;
  console.log(`\n--- two processes × ${many.toLocaleString('en')} × "n.value += 1", no lock`);
  const racy = await race(addUnlocked, many);
  console.log(`n.value = ${racy.value.toLocaleString('en')} (expected ${(2 * many).toLocaleString('en')}): ` +
    `${(2 * many - racy.value).toLocaleString('en')} updates lost`);

  const times = 1_000_000;
  console.log(`\n--- two processes × ${times.toLocaleString('en')}, holding n.getLock() around each increment`);
  const exact = await race(addLocked, times);
  console.log(`n.value = ${exact.value.toLocaleString('en')}, exact; ` +
    `${((2 * times) / exact.ms / 1000).toFixed(1)} M locked increments/s`);

  console.log('\n--- the default lock is an RLock: holding it, helpers may take it again');
  const counter = new Value('i', 0);
  const bump = () => counter.withLock(() => { counter.value += 1; });
  {
    using _ = counter.getLock().guard();
    bump();
    bump();
  }
  console.log('counter.value =', counter.value);

  console.log('\n--- wrong kinds throw at once');
  for (const make of [() => new Value('i', 1.5), () => new Value('q', 1 as unknown as bigint), () => new Value('x' as 'i', 0)]) {
    try {
      make();
    } catch (error) {
      console.log(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  if (exact.value !== 2 * times || num.value !== 3.1415927 || arr[9] !== -9) process.exitCode = 1;
}

await main();
