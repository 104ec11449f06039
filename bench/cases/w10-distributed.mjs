/**
 * W10, past one machine (issue 15): the distributed Pool through Redis on loopback, 2 worker processes,
 * against hand-written BullMQ code in the same run. Redis and the workers start before the clock.
 * - mode 'map': map(cube, 0..items-1), default chunking; figure items/s. Baseline: the input cut into
 *   chunks of `chunk` items, each a job (v8-serialized, base64), results read from QueueEvents.
 * - mode 'apply': one apply per item, all submitted at once; figure tasks/s. Ours: `processes` tasks
 *   out at once, workers holding 100 jobs each (`--concurrency 100`). Baseline: BullMQ's own rate for
 *   tiny jobs, one job per item (addBulk of 1,000), workers at concurrency 100, completions read from
 *   QueueEvents.
 */
import v8 from 'node:v8';
import { runCase, now, check } from './lib/harness.mjs';
import { checkCubesInOrder } from './lib/checks.mjs';
import { startRedis, startOurWorkers, startBullmqWorkers, stopCluster } from './lib/cluster.mjs';
import { cube } from './tasks.mjs';

const inputs = (items) => Array.from({ length: items }, (_, i) => i);
const perSecond = (count, elapsedMs) => count / (elapsedMs / 1000);

async function withCluster(body) {
  try {
    return await body(await startRedis());
  } finally {
    await stopCluster();
  }
}

runCase({
  async multiprocessing({ mode, workers, items, processes }) {
    return withCluster(async (url) => {
      await startOurWorkers(url, 'bench', workers, 1, mode === 'apply' ? 100 : undefined);
      const { Pool } = await import('multiprocessing/distributed');
      const pool = new Pool({ url, namespace: 'bench', processes: mode === 'apply' ? processes : undefined });
      try {
        await Promise.all(Array.from({ length: 4 * workers }, () => pool.apply(cube, [1])));
        const xs = inputs(items);
        const start = now();
        const results = mode === 'map' ? await pool.map(cube, xs) : await Promise.all(xs.map((x) => pool.apply(cube, [x])));
        const elapsed = now() - start;
        checkCubesInOrder(results, items);
        return { value: perSecond(items, elapsed) };
      } finally {
        pool.close();
        await pool.join();
      }
    });
  },
  async bullmq({ mode, workers, items, chunk }) {
    return withCluster(async (url) => {
      const { Queue, QueueEvents } = await import('bullmq');
      const { Redis } = await import('ioredis');
      const name = `bench-${mode}`;
      await startBullmqWorkers(url, name, workers, mode === 'map' ? 4 : 100);
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const queue = new Queue(name, { connection });
      const events = new QueueEvents(name, { connection: new Redis(url, { maxRetriesPerRequest: null }) });
      await events.waitUntilReady();
      try {
        const xs = inputs(items);
        const jobs = [];
        if (mode === 'map') for (let at = 0; at < items; at += chunk) jobs.push({ at, data: { b64: v8.serialize(xs.slice(at, at + chunk)).toString('base64') } });
        else for (const x of xs) jobs.push({ at: x, data: { x } });
        const results = new Array(items);
        let left = jobs.length;
        const start = now();
        const done = new Promise((resolve, reject) => {
          events.on('completed', ({ jobId, returnvalue }) => {
            const at = Number(jobId.slice(1));
            if (mode === 'map') {
              const values = v8.deserialize(Buffer.from(returnvalue, 'base64'));
              for (let i = 0; i < values.length; i++) results[at + i] = values[i];
            } else results[at] = Number(returnvalue);
            if (--left === 0) resolve();
          });
          events.on('failed', ({ failedReason }) => reject(new Error(failedReason)));
        });
        for (let i = 0; i < jobs.length; i += 1_000) {
          await queue.addBulk(jobs.slice(i, i + 1_000).map(({ at, data }) => ({ name: 'job', data, opts: { jobId: `j${at}`, removeOnComplete: true } })));
        }
        await done;
        const elapsed = now() - start;
        checkCubesInOrder(results, items);
        check(left === 0, 'every job completed');
        return { value: perSecond(items, elapsed), extra: mode === 'map' ? { chunksize: chunk } : {} };
      } finally {
        await events.close();
        await queue.close();
        connection.disconnect();
      }
    });
  },
});
