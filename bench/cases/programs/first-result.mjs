// W5-fresh: the whole program a user runs to get one result from a pool, in a fresh process: import the
// library, start a pool of `workers`, get cube(3), close. Prints the time of the first result and of
// the end, in ms since the process started. `node programs/first-result.mjs <impl> <workers>`.
const [impl, workersArg] = process.argv.slice(2);
const workers = Number(workersArg);
const workerFile = new URL('../workers/named-exports.mjs', import.meta.url).href;
let first;
let firstMs;
if (impl === 'multiprocessing') {
  const { Pool } = await import('multiprocessing');
  const cube = (x) => x * x * x;
  const pool = new Pool(workers);
  first = await pool.apply(cube, [3]);
  firstMs = performance.now();
  pool.close();
  await pool.join();
} else if (impl === 'piscina' || impl === 'tinypool') {
  const module = await import(impl);
  const PoolClass = impl === 'piscina' ? module.Piscina : module.Tinypool;
  const pool = new PoolClass({ filename: workerFile, minThreads: workers, maxThreads: workers });
  first = await pool.run(3, { name: 'cube' });
  firstMs = performance.now();
  await pool.destroy();
} else if (impl === 'workerpool') {
  const { default: workerpool } = await import('workerpool');
  const pool = workerpool.pool(new URL('../workers/workerpool-worker.mjs', import.meta.url).pathname, { minWorkers: workers, maxWorkers: workers, workerType: 'thread' });
  first = await pool.exec('cube', [3]);
  firstMs = performance.now();
  await pool.terminate();
} else if (impl === 'poolifier') {
  const { FixedThreadPool } = await import('poolifier');
  const pool = new FixedThreadPool(workers, new URL('../workers/poolifier-worker.mjs', import.meta.url).pathname);
  first = await pool.execute(3, 'cube');
  firstMs = performance.now();
  await pool.destroy();
} else {
  throw new Error(`no program for ${impl}`);
}
console.log(`@@first-result ${JSON.stringify({ first, firstMs, endMs: performance.now() })}`);
