/** Number and status formatting shared by the console table, the markdown and the chart. */

/** Three significant digits, without exponent notation. @param {number} x */
function sig3(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** A figure with its unit: "2.53 M items/s", "41.6 k tasks/s", "52.3 ms". @param {number} value @param {string} unit */
export function formatValue(value, unit) {
  if (unit === 'ms') return value >= 10_000 ? `${sig3(value / 1000)} s` : `${sig3(value)} ms`;
  if (value >= 1e6) return `${sig3(value / 1e6)} M ${unit}`;
  if (value >= 1e3) return `${sig3(value / 1e3)} k ${unit}`;
  return `${sig3(value)} ${unit}`;
}

/** The range of runs, in the unit of the figure. @param {{ min: number, max: number }} row @param {string} unit */
export function formatRange(row, unit) {
  const [low, high] = [formatValue(row.min, unit), formatValue(row.max, unit)];
  const lowNumber = low.split(' ')[0];
  return high.split(' ').length === low.split(' ').length && high.split(' ').slice(1).join(' ') === low.split(' ').slice(1).join(' ')
    ? `${lowNumber}–${high}`
    : `${low} – ${high}`;
}

/** @param {number} ratio */
export function formatRatio(ratio) {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 1 ? ratio.toFixed(2) : ratio.toFixed(2)}×`;
}

/** Short words for a row that has no figure. @param {{ status: string, reason?: string }} row */
export function statusText(row) {
  switch (row.status) {
    case 'failed': return `FAILED: ${row.reason}`;
    case 'not-implemented': return 'not yet implemented';
    case 'unsupported': return `n/a: ${row.reason}`;
    case 'skipped': return `skipped: ${row.reason}`;
    default: return '';
  }
}
