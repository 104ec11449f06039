/**
 * W10, past one machine (issue 15): the distributed Pool through Redis on loopback, 2 worker processes,
 * against hand-written BullMQ code in the same run. Redis and the workers start before the clock.
 * - mode 'map': map(cube, 0..items-1), default chunking; figure items/s. Baseline: the input cut into
 *   chunks of `chunk` items, each a job (v8-serialized, base64), results read from QueueEvents (a missed event read from its job).
 * - mode 'apply': one apply per item, all submitted at once; figure tasks/s. Ours: `processes` tasks
 *   out at once, workers holding 100 jobs each (`--concurrency 100`); once the workers report the
 *   tasks tiny, several share a job (the driver's bundles, src/distributed/executor.ts). Baseline: BullMQ's own rate for
 *   tiny jobs, one job per item (addBulk of 1,000), workers at concurrency 100, done when the queue's
 *   completed count says so (QueueEvents can miss events; a run waiting on one hung).
 * - mode 'fib': W2 through the cluster, ours only: 64 × fib(30) by map (default chunking) on 2 worker
 *   processes of one thread each; figure ms, and the speedup over the same work run serially by this
 *   process before the cluster starts.
 * - mode 'lost': ours only: one apply whose first run holds its worker; that worker process is killed
 *   (SIGKILL) as soon as the task has started there; figure: ms from the kill to the result, which the
 *   other worker delivers once the lease (`--lost-task-timeout`) ran out; extra: that time in leases.
 * Every row runs a small round first (warm workers), as the local workloads warm their pools.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runCase, now, check, RESULT_MARKER } from './lib/harness.mjs';
import { checkCubesInOrder, checkFibs, fibFigures, measureSerialFibs } from './lib/checks.mjs';
import { startRedis, startOurWorkers, startBullmqWorkers, stopCluster } from './lib/cluster.mjs';
import { cube, fib, holdUnlessRerun } from './tasks.mjs';

const inputs = (items) => Array.from({ length: items }, (_, i) => i);
/** Items of the map both rows run once before the clock (so both measure warm workers). */
const WARM_ITEMS = 8_000;
const perSecond = (count, elapsedMs) => count / (elapsedMs / 1000);

/**
 * Runs `body` with a fresh redis-server. The orchestrator SIGKILLs a case that overruns, which would
 * orphan its redis-server and workers: so the case gives up first (`deadlineMs`), stops them, and
 * reports the failure itself.
 */
async function withCluster(deadlineMs, body) {
  const deadline = setTimeout(async () => {
    await stopCluster();
    console.log(`${RESULT_MARKER}${JSON.stringify({ status: 'failed', reason: `no result within ${deadlineMs} ms` })}`);
    process.exit(1);
  }, deadlineMs);
  try {
    return await body(await startRedis());
  } finally {
    clearTimeout(deadline);
    await stopCluster();
  }
}

/** W2 through the cluster: the serial time first, then 2 worker processes of one thread each. */
async function fibThroughCluster({ workers, tasks, n, deadlineMs }) {
  const serialMs = measureSerialFibs(tasks, n);
  return withCluster(deadlineMs, async (url) => {
    await startOurWorkers(url, 'bench', workers, 1);
    const { Pool } = await import('multiprocessing/distributed');
    const pool = new Pool({ url, namespace: 'bench' });
    try {
      await Promise.all(Array.from({ length: 4 * workers }, () => pool.apply(fib, [1])));
      const start = now();
      const results = await pool.map(fib, Array(tasks).fill(n));
      const parallelMs = now() - start;
      checkFibs(results, tasks, n);
      return fibFigures(serialMs, parallelMs);
    } finally {
      pool.close();
      await pool.join();
    }
  });
}

/** A worker killed mid-chunk: ms from its SIGKILL to the chunk's result from the other worker. */
async function lostWorker({ workers, lostTaskTimeout, deadlineMs }) {
  return withCluster(deadlineMs, async (url) => {
    const children = await startOurWorkers(url, 'bench', workers, 1, undefined, lostTaskTimeout);
    const { Pool } = await import('multiprocessing/distributed');
    const pool = new Pool({ url, namespace: 'bench' });
    const dir = mkdtempSync(join(tmpdir(), 'mp-bench-lost-'));
    try {
      await Promise.all(Array.from({ length: 4 * workers }, () => pool.apply(cube, [1])));
      const result = pool.apply(holdUnlessRerun, [dir, 10 * deadlineMs]);
      let started = [];
      while (started.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        started = readdirSync(dir);
      }
      const victim = Number(started[0].slice('started-'.length));
      check(children.some((child) => child.pid === victim), `the task started in process ${victim}, not in a worker`);
      const killedAt = now();
      process.kill(victim, 'SIGKILL');
      const finisher = await result;
      const elapsed = now() - killedAt;
      check(finisher !== victim && children.some((child) => child.pid === finisher), `the re-run was finished by ${finisher}`);
      return { value: elapsed, extra: { leases: elapsed / lostTaskTimeout } };
    } finally {
      pool.close();
      await pool.join();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

runCase({
  async multiprocessing(params) {
    if (params.mode === 'fib') return fibThroughCluster(params);
    if (params.mode === 'lost') return lostWorker(params);
    const { mode, workers, items, processes, deadlineMs } = params;
    return withCluster(deadlineMs, async (url) => {
      await startOurWorkers(url, 'bench', workers, 1, mode === 'apply' ? 100 : undefined);
      const { Pool } = await import('multiprocessing/distributed');
      const pool = new Pool({ url, namespace: 'bench', processes: mode === 'apply' ? processes : undefined });
      try {
        // Warm-up, as the baseline's: the workers' threads run the chunk path once before the clock.
        await Promise.all(Array.from({ length: 4 * workers }, () => pool.apply(cube, [1])));
        if (mode === 'map') await pool.map(cube, inputs(WARM_ITEMS));
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
  async bullmq({ mode, workers, items, chunk, deadlineMs }) {
    return withCluster(deadlineMs, async (url) => {
      const { Queue, QueueEvents } = await import('bullmq');
      const { Redis } = await import('ioredis');
      const name = `bench-${mode}`;
      await startBullmqWorkers(url, name, workers, mode === 'map' ? 4 : 100);
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      const queue = new Queue(name, { connection });
      const events = new QueueEvents(name, { connection: new Redis(url, { maxRetriesPerRequest: null }) });
      await events.waitUntilReady();
      let round = 0;
      /**
       * Runs `count` items as jobs and resolves with their results, read from the `completed` events.
       * QueueEvents can miss events (bullmq#2517; a run waiting on a missed one hung), so the run is
       * over when the queue's completed count says so, polled; the results of chunks whose events were
       * missed are then read from their jobs, which is why completed jobs are kept. Tiny jobs end on
       * the count alone, polled every 10 ms.
       */
      const runJobs = async (count) => {
        const prefix = `r${++round}-`;
        const xs = inputs(count);
        const jobs = [];
        if (mode === 'map') for (let at = 0; at < count; at += chunk) jobs.push({ at, data: { b64: v8.serialize(xs.slice(at, at + chunk)).toString('base64') } });
        else for (const x of xs) jobs.push({ at: x, data: { x } });
        const results = new Array(count);
        const pending = new Set(jobs.map(({ at }) => at));
        let failure;
        const record = (at, returnvalue) => {
          if (!pending.delete(at)) return;
          if (mode === 'map') {
            const values = v8.deserialize(Buffer.from(returnvalue, 'base64'));
            for (let i = 0; i < values.length; i++) results[at + i] = values[i];
          } else results[at] = Number(returnvalue);
        };
        const onCompleted = ({ jobId, returnvalue }) => {
          if (jobId.startsWith(prefix)) record(Number(jobId.slice(prefix.length)), returnvalue);
        };
        const onFailed = ({ failedReason }) => (failure = new Error(failedReason));
        events.on('completed', onCompleted);
        events.on('failed', onFailed);
        const before = await queue.getCompletedCount();
        for (let i = 0; i < jobs.length; i += 1_000) {
          await queue.addBulk(jobs.slice(i, i + 1_000).map(({ at, data }) => ({ name: 'job', data, opts: { jobId: `${prefix}${at}`, removeOnComplete: false } })));
        }
        // Chunks: their events usually end the wait; the count is a slower fallback. Tiny jobs: the count.
        const countEveryMs = mode === 'map' ? 50 : 10;
        let countedAt = now();
        for (;;) {
          if (failure) throw failure;
          if (mode === 'map' && pending.size === 0) break;
          if (now() - countedAt >= countEveryMs) {
            countedAt = now();
            if ((await queue.getCompletedCount()) - before === jobs.length) break;
          }
          await new Promise((resolve) => setTimeout(resolve, mode === 'map' ? 1 : 10));
        }
        for (const at of [...pending]) record(at, (await queue.getJob(`${prefix}${at}`)).returnvalue);
        events.off('completed', onCompleted);
        events.off('failed', onFailed);
        return results;
      };
      try {
        await runJobs(mode === 'map' ? WARM_ITEMS : 4 * workers);
        const start = now();
        const results = await runJobs(items);
        const elapsed = now() - start;
        if (mode === 'map') checkCubesInOrder(results, items);
        else results.forEach((value, x) => check(value === x * x * x, `results[${x}] is ${value}`));
        return { value: perSecond(items, elapsed), extra: mode === 'map' ? { chunksize: chunk } : {} };
      } finally {
        await events.close();
        await queue.close();
        connection.disconnect();
      }
    });
  },
});
