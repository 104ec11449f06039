/**
 * Turns the runs of each row into the row's verdict, statistics and ratio to
 * the best peer of the same run.
 *
 * A row is FAILED if any of its runs failed (a wrong answer must never be
 * averaged away); it is "not yet implemented", "n/a" or "skipped" when its
 * runs say so; otherwise its figure is the median of its runs.
 */
import { summarize, speedRatio, median } from './stats.mjs';

const STATUS_PRIORITY = ['failed', 'not-implemented', 'unsupported', 'skipped', 'ok'];

/**
 * @param {import('./execute.mjs').CaseResult[]} runs
 */
export function summarizeRow(runs) {
  const status = STATUS_PRIORITY.find((s) => runs.some((r) => r.status === s)) ?? 'skipped';
  if (status !== 'ok') {
    const bad = runs.filter((r) => r.status === status);
    const reason = /** @type {any} */ (bad[0]).reason;
    const count = status === 'failed' && runs.length > 1 ? ` (${bad.length} of ${runs.length} runs)` : '';
    return { status, reason: `${reason}${count}` };
  }
  const oks = /** @type {{ value: number, extra?: Record<string, number> }[]} */ (runs);
  const extraKeys = [...new Set(oks.flatMap((r) => Object.keys(r.extra ?? {})))];
  /** @type {Record<string, number>} */
  const extra = {};
  for (const key of extraKeys) {
    const values = oks.map((r) => r.extra?.[key]).filter((v) => typeof v === 'number');
    if (values.length > 0) extra[key] = median(values);
  }
  return { status, values: oks.map((r) => r.value), ...summarize(oks.map((r) => r.value)), extra };
}

/**
 * Adds `ratio` (speed relative to the best peer, higher = faster) to every ok
 * row of a workload, and names the best peer.
 * @param {{ better: 'higher' | 'lower' }} workload
 * @param {any[]} rows summarized rows with `role`
 */
export function addRatios(workload, rows) {
  const peers = rows.filter((r) => r.role === 'peer' && r.status === 'ok');
  if (peers.length === 0) return { bestPeer: undefined, rows };
  const best = peers.reduce((a, b) => (speedRatio(b.median, a.median, workload.better) > 1 ? b : a));
  return {
    bestPeer: best.label,
    rows: rows.map((r) => (r.status === 'ok' ? { ...r, ratio: speedRatio(r.median, best.median, workload.better) } : r)),
  };
}
