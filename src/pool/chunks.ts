/**
 * Chunking, as Python's `Pool.map` does it, and turning a chunk's outcome back into per-item results.
 */
import { deserializeThrown } from '../transport/remote-error.js';
import { Outcome, type ChunkOutcome } from './protocol.js';

/** Python's rule: about four chunks per worker. `divmod(len, processes * 4)`, rounded up. */
export function defaultChunksize(length: number, processes: number): number {
  if (length === 0) return 0;
  const chunksize = Math.floor(length / (processes * 4));
  return length % (processes * 4) === 0 ? chunksize : chunksize + 1;
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

// Below this many items, cloning a plain array is as cheap as building a block.
const MIN_BLOCK = 64;

/**
 * A chunk of numbers travels as a `Float64Array` whose buffer is moved, not cloned: structured clone
 * walks a plain array element by element on both sides, which dominated `map` over numbers. Numbers
 * come back as numbers (including -0 and NaN). Returns undefined when some item is not a number.
 */
export function toNumberBlock(items: ArrayLike<unknown>): Float64Array | undefined {
  const length = items.length;
  if (length < MIN_BLOCK || !allNumbers(items)) return undefined;
  return numberBlock(items as ArrayLike<number>, 0, length);
}

/** True when every item is a number (so chunks of them can travel as blocks). */
export function allNumbers(items: ArrayLike<unknown>): boolean {
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/** Items `from` to `to` (exclusive) as a block; the caller knows they are numbers. */
export function numberBlock(items: ArrayLike<number>, from: number, to: number): Float64Array {
  const block = new Float64Array(to - from);
  for (let i = from; i < to; i++) block[i - from] = items[i]!;
  return block;
}

/** Whether chunks of `size` items are worth sending as blocks. */
export function worthABlock(size: number): boolean {
  return size >= MIN_BLOCK;
}
