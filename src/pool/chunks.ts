/**
 * Chunking, as Python's `Pool.map` does it, and turning a chunk's outcome back into per-item results.
 */
import { deserializeThrown } from '../transport/remote-error.js';
import { misuse } from '../errors.js';
import { Outcome, type ChunkOutcome } from './protocol.js';

/** Python's rule: about four chunks per worker. `divmod(len, processes * 4)`, rounded up. */
export function defaultChunksize(length: number, processes: number): number {
  if (length === 0) return 0;
  const chunksize = Math.floor(length / (processes * 4));
  return length % (processes * 4) === 0 ? chunksize : chunksize + 1;
}

/** Throws Python's error for a chunk size that is not a positive integer. */
export function checkChunksize(chunksize: number): void {
  if (!Number.isInteger(chunksize) || chunksize < 1) {
    throw misuse(RangeError, 'ERR_MP_CHUNKSIZE', `Chunksize must be 1+, not ${String(chunksize)}`);
  }
}

/** One item's outcome: `ok` with its value, or its error. */
export type ItemOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Calls `each(index, outcome)` for every item of a finished chunk of `length` items. A chunk that failed
 * as a whole (its function could not be loaded, its worker died) fails each of its items.
 */
export function forEachItem(
  outcome: Outcome | 'error',
  value: unknown,
  length: number,
  each: (index: number, item: ItemOutcome) => void,
): void {
  if (outcome === Outcome.Ok) {
    const results = value as unknown[];
    for (let i = 0; i < length; i++) each(i, { ok: true, value: results[i] });
    return;
  }
  if (outcome === Outcome.Partial) {
    const { results, errors } = value as ChunkOutcome;
    const failed = new Map(errors.map(([index, error]) => [index, deserializeThrown(error)]));
    for (let i = 0; i < length; i++) {
      each(i, failed.has(i) ? { ok: false, error: failed.get(i) } : { ok: true, value: results[i] });
    }
    return;
  }
  for (let i = 0; i < length; i++) each(i, { ok: false, error: value });
}
