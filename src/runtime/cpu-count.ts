import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * The number of CPUs this program may use: the OS's available parallelism, lowered to the cgroup v2
 * CPU quota when a container sets one (Python's `cpu_count()` ignores quotas and oversubscribes).
 *
 * @example
 * ```ts
 * const pool = new Pool(cpuCount());
 * ```
 */
export function cpuCount(): number {
  const cpus = availableParallelism();
  const quota = cgroupQuota();
  return quota === undefined ? cpus : Math.max(1, Math.min(cpus, quota));
}

function cgroupQuota(): number | undefined {
  try {
    const [max, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (max === undefined || max === 'max' || period === undefined) return undefined;
    const cpus = Number(max) / Number(period);
    return Number.isFinite(cpus) && cpus > 0 ? Math.ceil(cpus) : undefined;
  } catch {
    return undefined;
  }
}
