/**
 * W5 start-up: a pool of 2 workers is created, returns its first result, and
 * is closed (all its workers gone). Figure: milliseconds (lower is better).
 * Each run is a fresh process, so this is the cold cost a short script pays;
 * module imports happen before the clock starts.
 */
import { runCase, now, check, phase } from './lib/harness.mjs';
import { ours } from './lib/ours.mjs';
import { forEveryPeer, createPeerPool } from './lib/peers.mjs';
import { cube } from './tasks.mjs';

runCase({
  async multiprocessing({ workers, startMethod }) {
    const Pool = await ours('Pool', startMethod);
    const start = now();
    const pool = new Pool(workers);
    const first = await pool.apply(cube, [3]);
    phase('pool.close() + pool.join()');
    pool.close();
    await pool.join();
    const elapsed = now() - start;
    check(first === 27, `first result ${first}, expected 27`);
    return { value: elapsed };
  },
  ...forEveryPeer(async ({ impl, workers }) => {
    const start = now();
    const pool = await createPeerPool(impl, workers);
    const first = await pool.run('cube', 3);
    await pool.destroy();
    const elapsed = now() - start;
    check(first === 27, `first result ${first}, expected 27`);
    return { value: elapsed };
  }),
});
