/** Summary statistics for a handful of runs: median and range, no averaging away of outliers. */

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** @param {number[]} values */
export function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Speed relative to a reference, always "higher is faster": for a rate it is
 * value / reference, for a time reference / value.
 * @param {number} value @param {number} reference @param {'higher' | 'lower'} better
 */
export function speedRatio(value, reference, better) {
  return better === 'higher' ? value / reference : reference / value;
}
