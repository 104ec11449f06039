/**
 * 03 · Sharing state: shared memory (Array)
 *
 * `SharedArray` (Python's `Array`, exported under that name too; importing it as `Array` would shadow the global) is a real
 * typed array over a SharedArrayBuffer: index it, iterate it, slice it, at typed-array speed, in every
 * process that receives it. `RawArray` has no lock; `'c'` arrays read as strings.
 * Run on its own with `npx tsx examples/03-shared-array.ts` (after `npm run build`).
 */
import { SharedArray, Process, RawArray } from 'multiprocessing';

// Each worker adds 1 to every element, `rounds` times, holding the array's lock for each pass.
function addOnes(a: SharedArray<'d'>, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    a.withLock(() => {
      for (let i = 0; i < a.length; i++) a[i] += 1;
    });
  }
}

// A worker fills its own stripe of a lock-free RawArray: no two workers touch the same element.
function fillStripe(a: RawArray<'i'>, worker: number, workers: number): void {
  for (let i = worker; i < a.length; i += workers) a[i] = i * i;
}

function greet(name: SharedArray<'c'>): void {
  name.value = `hello from ${name.value}`;
}

async function runAll(ps: Process[]): Promise<void> {
  for (const p of ps) p.start();
  await Promise.all(ps.map((p) => p.join()));
}

async function main(): Promise<void> {
  console.log("--- Array('d', [0, 100, 200]) is a Float64Array over shared memory");
  const a = new SharedArray('d', [0, 100, 200]);
  console.log(a instanceof Float64Array, a instanceof SharedArray, a.buffer instanceof SharedArrayBuffer);
  console.log('length', a.length, 'last', a.at(-1), 'out of range', a[3]);

  console.log('\n--- 4 processes × 1,000 locked passes adding 1 to each element');
  await runAll([0, 1, 2, 3].map(() => new Process({ target: addOnes, args: [a, 1_000] })));
  console.log([...a], '(each grew by exactly 4,000)');

  console.log('\n--- RawArray: no lock, each process writes its own stripe');
  const squares = new RawArray('i', 12);
  await runAll([0, 1, 2].map((w) => new Process({ target: fillStripe, args: [squares, w, 3] })));
  console.log([...squares]);
  console.log('slice(2, 5) is a plain copy:', squares.slice(2, 5));

  console.log("\n--- 'c' arrays: .value and .raw");
  const name = new SharedArray('c', 32);
  name.value = 'the parent';
  const p = new Process({ target: greet, args: [name] });
  p.start();
  await p.join();
  console.log(JSON.stringify(name.value), `(${name.raw.length} bytes)`);

  console.log("\n--- 64-bit typecodes hold bigints");
  const big = new SharedArray('q', [2n ** 60n, -1n]);
  big[0] += 1n;
  console.log([...big]);

  console.log('\n--- a negative length throws with Python\'s words');
  try {
    new SharedArray('i', -1);
  } catch (error) {
    console.log(`${(error as Error).name}: ${(error as Error).message}`);
  }
  if (a[0] !== 4000 || squares[11] !== 121 || name.value !== 'hello from the parent') process.exitCode = 1;
}

await main();
