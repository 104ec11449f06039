/**
 * W8 records: a realistic small task. Each item is a record `{ id, text }` (a few hundred bytes of
 * text); the worker hashes the text with node:crypto and returns `{ id, digest, length }`. Figure:
 * parallel wall time in ms (lower is better); the same process first runs the same function over the
 * same records on its main thread (after a short warm-up, as the pools get), and reports
 * speedup = serial / parallel. What this measures beyond the work is what crossing costs per object.
 * Modes: `map` (ours and Python: default chunking; peers and the hand-written reference: Python's
 * default chunksize, one task per chunk, results in order) and `imapUnordered` (everyone: chunks of
 * `chunksize`, results taken as they finish).
 */
import { runCase, now, check } from './lib/harness.mjs';
import { withOurPool } from './lib/ours.mjs';
import { forEveryPeer, withPeerPool } from './lib/peers.mjs';
import { withThreads } from './lib/threads.mjs';
import { pythonChunksize } from './lib/checks.mjs';
import { digestRecord } from './tasks.mjs';

const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

/** The same records in every implementation (bench/python/w8_records.py builds them alike). */
function makeRecords(/** @type {number} */ items, /** @type {number} */ textBytes) {
  const records = new Array(items);
  let seed = 1;
  for (let id = 0; id < items; id++) {
    let text = '';
    while (text.length < textBytes) {
      seed = (seed * 48271) % 2147483647;
      text += `${WORDS[seed % WORDS.length]} `;
    }
    records[id] = { id, text };
  }
  return records;
}

/** @param {{ id: number, text: string }[]} records */
function measureSerial(records) {
  records.slice(0, 200).map(digestRecord);
  const start = now();
  const expected = records.map(digestRecord);
  return { expected, serialMs: now() - start };
}

/**
 * Every record's digest, once; in input order unless `anyOrder`.
 * @param {unknown} results @param {{ id: number, digest: string, length: number }[]} expected @param {boolean} anyOrder
 */
function checkDigests(results, expected, anyOrder) {
  check(Array.isArray(results), `results are not an array (${typeof results})`);
  const list = /** @type {any[]} */ (results);
  check(list.length === expected.length, `expected ${expected.length} results, got ${list.length}`);
  const byId = anyOrder ? [...list].sort((a, b) => a.id - b.id) : list;
  for (let i = 0; i < expected.length; i++) {
    const got = byId[i];
    const want = expected[i];
    check(got?.id === want.id && got.digest === want.digest && got.length === want.length, `result for record ${i} is ${JSON.stringify(got)}`);
  }
}

/** @param {number} serialMs @param {number} parallelMs */
const figures = (serialMs, parallelMs, extra = {}) => ({ value: parallelMs, extra: { serialMs, speedup: serialMs / parallelMs, ...extra } });

/** Chunks of `size` records. @param {unknown[]} records @param {number} size */
function cut(records, size) {
  const chunks = [];
  for (let at = 0; at < records.length; at += size) chunks.push(records.slice(at, at + size));
  return chunks;
}

runCase({
  async multiprocessing({ mode, workers, items, textBytes, chunksize }) {
    const records = makeRecords(items, textBytes);
    const { expected, serialMs } = measureSerial(records);
    return withOurPool(workers, async (pool) => {
      const start = now();
      let results;
      if (mode === 'map') results = await pool.map(digestRecord, records);
      else {
        results = [];
        for await (const result of pool.imapUnordered(digestRecord, records, chunksize)) results.push(result);
      }
      const parallelMs = now() - start;
      checkDigests(results, expected, mode !== 'map');
      return figures(serialMs, parallelMs);
    }, { task: 'digestRecord', arg: { id: 0, text: 'warm' } });
  },
  ...forEveryPeer(async ({ impl, mode, workers, items, textBytes, chunksize }) => {
    const records = makeRecords(items, textBytes);
    const { expected, serialMs } = measureSerial(records);
    const size = mode === 'map' ? pythonChunksize(items, workers) : chunksize;
    return withPeerPool(impl, workers, async (pool) => {
      const start = now();
      let results;
      if (mode === 'map') results = (await Promise.all(cut(records, size).map((chunk) => pool.run('digestRecords', chunk)))).flat();
      else {
        results = [];
        await Promise.all(cut(records, size).map((chunk) => pool.run('digestRecords', chunk).then((done) => results.push(...done))));
      }
      const parallelMs = now() - start;
      checkDigests(results, expected, mode !== 'map');
      return figures(serialMs, parallelMs, { chunksize: size });
    }, { task: 'digestRecords', arg: [{ id: 0, text: 'warm' }] });
  }),
  async 'worker-threads'({ mode, workers, items, textBytes, chunksize }) {
    const records = makeRecords(items, textBytes);
    const { expected, serialMs } = measureSerial(records);
    const size = mode === 'map' ? pythonChunksize(items, workers) : chunksize;
    return withThreads(workers, async (run) => {
      await run('digestRecords', Array.from({ length: 2 * workers }, () => ({ items: [{ id: 0, text: 'warm' }] })), () => {});
      const start = now();
      const results = mode === 'map' ? new Array(items) : [];
      await run('digestRecords', cut(records, size).map((items) => ({ items })), (index, done) => {
        if (mode === 'map') for (let i = 0; i < done.length; i++) results[index * size + i] = done[i];
        else results.push(...done);
      });
      const parallelMs = now() - start;
      checkDigests(results, expected, mode !== 'map');
      return figures(serialMs, parallelMs, { chunksize: size });
    });
  },
});
