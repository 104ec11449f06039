/**
 * The hand-written BullMQ baseline of the distributed workloads: what a user writes without our library.
 * `node bullmq-worker.mjs <url> <queue> <concurrency>`. A job is either a chunk (`{ b64 }`: base64 of
 * v8.serialize(items), as BullMQ's JSON would break typed values; the answer is the same encoding of
 * the cubes) or one item (`{ x }`; the answer is its cube). The cube runs on this event loop, as a
 * hand-written BullMQ processor does.
 */
import v8 from 'node:v8';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cube } from '../tasks.mjs';

const [url, queue, concurrency] = process.argv.slice(2);
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(
  queue,
  async (job) => {
    if (job.data.b64 === undefined) return cube(job.data.x);
    const items = v8.deserialize(Buffer.from(job.data.b64, 'base64'));
    return v8.serialize(items.map(cube)).toString('base64');
  },
  { connection, concurrency: Number(concurrency), removeOnComplete: { count: 0 } },
);
await worker.waitUntilReady();
console.log('bullmq worker ready');
// Orphaned (its case was killed): leave too.
setInterval(() => process.ppid === 1 && process.exit(1), 1_000).unref();
