/**
 * The hand-written worker_threads reference of W7 and W8: a fixed set of workers, chunks handed out
 * two per worker at a time (the next one as a result comes back), no library in between.
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';

const script = new URL('../workers/chunk-worker.mjs', import.meta.url);

/**
 * Runs `body(run)` with `workers` started threads, then terminates them. `run(task, chunks, onResult)`
 * sends every chunk (`{ items, transfer? }`) and calls `onResult(index, results)` as each comes back.
 * @template T @param {number} workers
 * @param {(run: (task: string, chunks: { items: unknown, transfer?: ArrayBuffer[] }[], onResult: (index: number, results: any) => void) => Promise<void>) => Promise<T>} body
 */
export async function withThreads(workers, body) {
  const threads = Array.from({ length: workers }, () => new Worker(script));
  try {
    await Promise.all(threads.map((thread) => once(thread, 'online')));
    return await body((task, chunks, onResult) => new Promise((resolve, reject) => {
      let next = 0;
      let finished = 0;
      const send = (/** @type {Worker} */ thread) => {
        if (next >= chunks.length) return;
        const id = next++;
        thread.postMessage({ id, task, items: chunks[id].items }, chunks[id].transfer ?? []);
      };
      for (const thread of threads) {
        thread.removeAllListeners('message');
        thread.on('message', ({ id, results }) => {
          onResult(id, results);
          if (++finished === chunks.length) resolve();
          else send(thread);
        });
        thread.once('error', reject);
        send(thread);
        send(thread);
      }
    }));
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
}
