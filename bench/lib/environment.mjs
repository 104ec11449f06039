/** Where and with what a run happened: printed with the tables, so figures are never quoted without it. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const repoDir = new URL('../../', import.meta.url);

/** @param {string} name */
function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, repoDir), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

function gitRevision() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoDir, encoding: 'utf8' }).trim();
    return dirty ? `${commit} (src/ modified)` : commit;
  } catch {
    return 'unknown';
  }
}

/** @param {string | undefined} pythonVersion */
export function describeEnvironment(pythonVersion) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    python: pythonVersion ?? 'not found',
    multiprocessing: `${JSON.parse(readFileSync(new URL('package.json', repoDir), 'utf8')).version} @ ${gitRevision()}`,
    peers: Object.fromEntries(['piscina', 'tinypool', 'workerpool', 'poolifier'].map((p) => [p, packageVersion(p)])),
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: cpuModel(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()} (${os.arch()})`,
      // Other work on the machine skews every figure: record how busy it was.
      loadAverageAtStart: os.loadavg()[0],
    },
  };
}
