/**
 * Runs one measurement in a fresh process: `node bench/cases/<script>` (plain
 * node, no loader, so no implementation pays for a TypeScript hook) or
 * `python3 bench/python/<script>`, and reads back the one result line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RESULT_MARKER } from '../cases/lib/harness.mjs';

const benchDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../..', import.meta.url));

/** @returns {string | undefined} the python3 version, or undefined when there is none */
export function findPython() {
  const probe = spawnSync('python3', ['-c', 'import platform, multiprocessing; print(platform.python_version())'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/**
 * @typedef {{ status: 'ok', value: number, extra?: Record<string, number> }
 *   | { status: 'failed' | 'not-implemented' | 'unsupported' | 'skipped', reason: string }} CaseResult
 */

/**
 * @param {{ runtime: 'node' | 'python', script: string, params: object, timeoutMs: number }} spec
 * @returns {Promise<CaseResult>}
 */
export function executeCase({ runtime, script, params, timeoutMs }) {
  const [command, file] = runtime === 'python'
    ? ['python3', `${benchDir}python/${script}`]
    : [process.execPath, `${benchDir}cases/${script}`];
  return new Promise((resolve) => {
    // cwd is the repository, so `import 'multiprocessing'` resolves to the built package.
    const child = spawn(command, [file, JSON.stringify(params)], { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'failed', reason: `could not start ${command}: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (line) return resolve(JSON.parse(line.slice(RESULT_MARKER.length)));
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited (${signal ?? `code ${code}`}) without a result`;
      // The first line naming an error says the most; the last lines say where it ended.
      const lines = stderr.trim().split('\n').filter(Boolean);
      const errorLine = lines.find((l) => /\b[A-Za-z]*Error\b|ERR_[A-Z_]+/.test(l));
      const summary = [...new Set([errorLine, ...lines.slice(-2)].filter(Boolean))].join(' | ');
      resolve({ status: 'failed', reason: summary ? `${why}: ${summary}` : why });
    });
  });
}
