// W5-tsx: programs/first-result.mjs as a TypeScript user writes it, run with `node --import tsx`.
// `node --import tsx programs/first-result.ts <impl> <workers>`.
const [impl, workersArg] = process.argv.slice(2);
const workers = Number(workersArg);
let first: number;
let firstMs: number;
if (impl === 'multiprocessing') {
  const { Pool } = await import('multiprocessing');
  const cube = (x: number): number => x * x * x;
  const pool = new Pool(workers);
  first = await pool.apply(cube, [3]);
  firstMs = performance.now();
  pool.close();
  await pool.join();
} else if (impl === 'piscina') {
  const { Piscina } = await import('piscina');
  const pool = new Piscina<number, number>({ filename: new URL('../workers/named-exports.mjs', import.meta.url).href, minThreads: workers, maxThreads: workers });
  first = await pool.run(3, { name: 'cube' });
  firstMs = performance.now();
  await pool.destroy();
} else {
  throw new Error(`no program for ${impl}`);
}
console.log(`@@first-result ${JSON.stringify({ first, firstMs, endMs: performance.now() })}`);
