/**
 * The goals the issues set for this library (e.g. "W4: ≥ 2× a raw
 * MessagePort stream"), checked against the same run, so the team can see at
 * a glance which are met. Informational: a missed target does not fail the run.
 */
import { speedRatio } from './stats.mjs';
import { formatRatio } from './format.mjs';

/**
 * @param {any[]} workloads summarized workloads of one run
 * @returns {{ workload: string, goal: string, actual: string, met: boolean | undefined }[]}
 */
export function evaluateTargets(workloads) {
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const evaluations = [];
  for (const workload of workloads) {
    const ours = workload.rows.find((r) => r.role === 'ours');
    for (const target of workload.targets ?? []) {
      if ('extra' in target) {
        const value = ours?.status === 'ok' ? ours.extra?.[target.extra] : undefined;
        const goal = `${target.extra} ≥ ${target.atLeast}×`;
        if (typeof value !== 'number') evaluations.push({ workload: workload.id, goal, actual: 'not measured', met: undefined });
        else evaluations.push({ workload: workload.id, goal, actual: formatRatio(value), met: value >= target.atLeast });
        continue;
      }
      const reference = byId.get(target.workload ?? workload.id);
      const against = target.against === 'best peer'
        ? reference?.rows.find((r) => r.label === reference.bestPeer)
        : reference?.rows.find((r) => r.impl === target.against);
      const name = target.against === 'best peer' ? `the best peer${reference?.bestPeer ? ` (${reference.bestPeer})` : ''}`
        : `${against?.label ?? target.against}${target.workload ? ` in ${target.workload}` : ''}`;
      const goal = `≥ ${target.atLeast}× ${name}`;
      if (ours?.status !== 'ok' || against?.status !== 'ok') {
        evaluations.push({ workload: workload.id, goal, actual: ours?.status === 'ok' ? 'no reference' : 'not measured', met: undefined });
        continue;
      }
      const ratio = speedRatio(ours.median, against.median, workload.better);
      evaluations.push({ workload: workload.id, goal, actual: formatRatio(ratio), met: ratio >= target.atLeast });
    }
  }
  return evaluations;
}
