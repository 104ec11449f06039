#!/usr/bin/env node
/**
 * `npm run bench`: runs workloads W1–W9 (DESIGN.md, issues 11 and 13) on this library, the peer
 * pools, hand-written references and Python's multiprocessing, each
 * measurement in a fresh process, interleaved, and reports medians, ranges
 * and ratios to the best peer.
 *
 * A complete full run (no --smoke, --only or --impl) writes
 * bench/results/latest.json, docs/benchmarks.md and docs/benchmarks.svg.
 * Other runs write bench/results/smoke.json or partial.json and leave docs/ alone.
 * Exits non-zero when any row that ran FAILED.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs, USAGE } from './lib/args.mjs';
import { selectWorkloads } from './lib/plan.mjs';
import { executeCase, findPython } from './lib/execute.mjs';
import { summarizeRow, addRatios } from './lib/results.mjs';
import { describeEnvironment } from './lib/environment.mjs';
import { consoleReport, markdownReport } from './lib/report.mjs';
import { renderChart } from './lib/svg.mjs';

const CASE_TIMEOUT_MS = { full: 240_000, smoke: 60_000 };
const MAX_ATTEMPTS = 4;

/**
 * In a checkout shared with others, someone's `npm run build` can delete and
 * rewrite dist/ in the middle of a case. Such a run measured nothing, so it is
 * retried once the build is back; every other failure stands.
 * @param {import('./lib/execute.mjs').CaseResult} result
 */
function failedForMissingBuild(result) {
  if (result.status !== 'failed') return false;
  if (/** @type {any} */ (result).retryable) return true;
  return /dist[\\/]/.test(result.reason) && /ERR_MODULE_NOT_FOUND|Cannot find module|does not provide an export/.test(result.reason);
}

/** Set once dist/ failed to come back: from then on, failures stand without retries. */
let buildGone = false;

/**
 * Waits until dist/ exists and has stopped changing for a moment; false if it
 * does not come back within a minute (then it is not a rebuild in progress).
 * @returns {Promise<boolean>}
 */
async function waitForStableBuild() {
  const entry = new URL('../dist/cjs/index.js', import.meta.url);
  const stamp = () => { try { return statSync(entry).mtimeMs; } catch { return undefined; } };
  const deadline = performance.now() + 60_000;
  for (let previous = stamp(); performance.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const current = stamp();
    if (current !== undefined && current === previous) return true;
    previous = current;
  }
  return false;
}

/**
 * Rotates the row order by the run number, so no row always runs first
 * (right after another workload) or last.
 * @template T @param {T[]} rows @param {number} run
 */
function rotated(rows, run) {
  const shift = run % rows.length;
  return [...rows.slice(shift), ...rows.slice(0, shift)];
}

/**
 * @param {import('./lib/plan.mjs').Workload} workload
 * @param {{ smoke: boolean, runs?: number, python?: string }} options
 */
async function measureWorkload(workload, { smoke, runs: runsOverride, python }) {
  const runs = smoke ? 1 : runsOverride ?? workload.runs;
  const params = smoke ? workload.smoke : workload.full;
  /** @type {Map<string, import('./lib/execute.mjs').CaseResult[]>} */
  const results = new Map(workload.rows.map((row) => [row.impl, []]));
  /** Runs repeated because dist/ vanished under them, per row. @type {Map<string, number>} */
  const retries = new Map();
  for (let run = 0; run < runs; run++) {
    for (const row of rotated(workload.rows, run)) {
      const started = performance.now();
      /** @type {import('./lib/execute.mjs').CaseResult} */
      let result = { status: 'skipped', reason: 'python3 with multiprocessing not found' };
      for (let attempt = 1; attempt <= MAX_ATTEMPTS && !(row.runtime === 'python' && !python); attempt++) {
        result = await executeCase({
          runtime: row.runtime,
          script: row.runtime === 'python' ? /** @type {string} */ (workload.pythonScript) : workload.script,
          params: { impl: row.impl, ...params },
          timeoutMs: smoke ? CASE_TIMEOUT_MS.smoke : CASE_TIMEOUT_MS.full,
        });
        if (buildGone || !failedForMissingBuild(result) || attempt === MAX_ATTEMPTS) break;
        process.stderr.write(`  ${workload.id} run ${run + 1} ${row.impl}: dist/ was missing (being rebuilt?); retrying\n`);
        retries.set(row.impl, (retries.get(row.impl) ?? 0) + 1);
        if (!(await waitForStableBuild())) buildGone = true;
      }
      results.get(row.impl)?.push(result);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const note = result.status === 'ok' ? '' : ` ${result.status}`;
      process.stderr.write(`  ${workload.id} run ${run + 1}/${runs} ${row.impl}: ${seconds} s${note}\n`);
    }
  }
  const rows = workload.rows.map((row) => ({
    ...row,
    ...summarizeRow(results.get(row.impl) ?? []),
    ...(retries.has(row.impl) ? { retriedForMissingBuild: retries.get(row.impl) } : {}),
  }));
  return { ...workload, runs, params, ...addRatios(workload, rows) };
}

/** docs/benchmarks.md and docs/benchmarks.svg from a full run's record. @param {any} record */
function writeDocs(record) {
  const docs = new URL('../docs/', import.meta.url);
  mkdirSync(docs, { recursive: true });
  writeFileSync(new URL('benchmarks.svg', docs), renderChart(record));
  writeFileSync(new URL('benchmarks.md', docs), markdownReport(record));
  console.log('wrote docs/benchmarks.md and docs/benchmarks.svg');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.docsFrom) {
    // Re-render the docs from a saved run (after a change to the report or chart code), without measuring again.
    const record = JSON.parse(readFileSync(options.docsFrom, 'utf8'));
    if (record.mode !== 'full') throw new Error(`${options.docsFrom} is a ${record.mode} run; docs come from full runs only`);
    writeDocs(record);
    return 0;
  }
  const workloads = selectWorkloads(options);
  if (workloads.length === 0) throw new Error(`nothing selected\n${USAGE}`);
  const complete = !options.smoke && options.only.length === 0 && options.impls.length === 0;
  const python = findPython();
  const environment = describeEnvironment(python);
  const began = performance.now();
  process.stderr.write(`bench: ${options.smoke ? 'smoke' : 'full'} run of ${workloads.map((w) => w.id).join(', ')}${python ? '' : ' (python3 not found: its rows are skipped)'}\n`);

  const measured = [];
  for (const workload of workloads) measured.push(await measureWorkload(workload, { ...options, python }));
  const minutes = ((performance.now() - began) / 60_000).toFixed(1);
  environment.machine.loadAverageAtEnd = os.loadavg()[0];
  // Others may commit to the library while a long run goes on: say so if they did.
  const revisionAtEnd = describeEnvironment(python).multiprocessing;
  if (revisionAtEnd !== environment.multiprocessing) environment.multiprocessingAtEnd = revisionAtEnd;

  console.log(consoleReport(measured, { targets: !options.smoke }));
  console.log(`\n${environment.date} · Node ${environment.node} · Python ${environment.python} · ${environment.machine.cpus} × ${environment.machine.cpuModel} · ${minutes} min · load average ${environment.machine.loadAverageAtStart.toFixed(1)} → ${environment.machine.loadAverageAtEnd.toFixed(1)}`);

  const runsNote = options.smoke
    ? 'smoke: 1 run, tiny sizes'
    : `${listOfCounts(measured.map((w) => w.runs))} per row, each in a fresh process; the whole run took ${minutes} minutes`;
  const record = { mode: options.smoke ? 'smoke' : complete ? 'full' : 'partial', options, environment, runsNote, workloads: measured };
  const resultsFile = new URL(`results/${options.smoke ? 'smoke' : complete ? 'latest' : 'partial'}.json`, import.meta.url);
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(resultsFile, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`raw results: ${resultsFile.pathname}`);

  if (complete) writeDocs(record);

  const failed = measured.flatMap((w) => w.rows.filter((r) => r.status === 'failed').map((r) => `${w.id} ${r.label}: ${r.reason}`));
  if (failed.length > 0) {
    console.error(`\n${failed.length} row(s) FAILED:\n${failed.map((f) => `  ${f}`).join('\n')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(error instanceof Error ? error.message : error); process.exitCode = 2; },
);

/** "5, 7 or 9" from the run counts of the workloads. @param {number[]} counts */
function listOfCounts(counts) {
  const sorted = [...new Set(counts)].sort((a, b) => a - b);
  return sorted.length === 1 ? `${sorted[0]}` : `${sorted.slice(0, -1).join(', ')} or ${sorted.at(-1)}`;
}
