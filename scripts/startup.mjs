#!/usr/bin/env node
// Start-up of one process: new Process → start() → join(), exitCode 0, with a trivial self-contained
// target, using the BUILT package (run `npm run build` first) under plain node. Median of N runs in one
// program (the first run, which also loads the worker's code, is reported separately), next to Python's
// multiprocessing with the 'spawn' and 'fork' start methods measured the same way, when python3 exists.
//
//   node scripts/startup.mjs [runs=10]
import { Process } from 'multiprocessing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 10);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function once() {
  const started = performance.now();
  const p = new Process({ target: () => {} });
  p.start();
  await p.join();
  const ms = performance.now() - started;
  if (p.exitCode !== 0) throw new Error(`exitCode ${p.exitCode}`);
  return ms;
}

const first = await once();
const times = [];
for (let i = 0; i < runs; i++) times.push(await once());
const rows = [[`multiprocessing (thread, node ${process.version})`, first, median(times)]];

const python = `
import multiprocessing as mp, sys, time, statistics
def f(): pass
if __name__ == '__main__':
    runs = int(sys.argv[2])
    ctx = mp.get_context(sys.argv[1])
    def once():
        t = time.perf_counter(); p = ctx.Process(target=f); p.start(); p.join()
        assert p.exitcode == 0
        return (time.perf_counter() - t) * 1000
    first = once()
    print(first, statistics.median([once() for _ in range(runs)]))
`;
// 'spawn' re-imports the main module, so the script must be a file (not `python3 -c`).
const dir = mkdtempSync(join(tmpdir(), 'mp-startup-'));
const script = join(dir, 'startup.py');
writeFileSync(script, python);
for (const method of ['spawn', 'fork']) {
  const r = spawnSync('python3', [script, method, String(runs)], { encoding: 'utf8' });
  if (r.status !== 0) {
    rows.push([`python3 multiprocessing ('${method}')`, NaN, NaN]);
    continue;
  }
  const version = spawnSync('python3', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const [f, m] = r.stdout.trim().split(/\s+/).map(Number);
  rows.push([`${version} multiprocessing ('${method}')`, f, m]);
}

rmSync(dir, { recursive: true, force: true });

console.log(`start → join → exitCode 0, trivial target; median of ${runs} runs after a first one`);
for (const [name, f, m] of rows) {
  console.log(`${name.padEnd(48)} first ${f.toFixed(2).padStart(8)} ms   median ${m.toFixed(2).padStart(8)} ms`);
}
