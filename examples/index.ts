/**
 * The tutorial, section by section: runs every `examples/NN-*.ts` in numeric order, each in its own
 * child process, under a header. Exits non-zero if a section fails or takes more than 60 s.
 *
 * `npm start` runs this (after building). `tsx examples/index.ts 01 03` runs only those sections.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

// The environment overrides exist for the runner's own test (test/package/examples-runner.test.ts).
const LIMIT_MS = Number(process.env.MP_EXAMPLES_LIMIT_MS ?? 60_000);
const dir = process.env.MP_EXAMPLES_DIR ?? fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);

const sections = readdirSync(dir)
  .map((file) => /^(\d+)-(.+)\.ts$/.exec(file))
  .filter((m): m is RegExpExecArray => m !== null)
  .filter((m) => only.length === 0 || only.some((o) => Number(o) === Number(m[1]) || m[0].startsWith(o)))
  .sort((a, b) => Number(a[1]) - Number(b[1]) || a[0].localeCompare(b[0]));

interface Outcome {
  readonly file: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly why?: string;
}

function runSection(file: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, join(dir, file)], { stdio: 'inherit' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ file, ok: false, ms: performance.now() - started, why: error.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (timedOut) resolve({ file, ok: false, ms, why: `took more than ${LIMIT_MS / 1000} s, stopped` });
      else if (code !== 0) resolve({ file, ok: false, ms, why: signal ? `killed by ${signal}` : `exit code ${code}` });
      else resolve({ file, ok: true, ms });
    });
  });
}

if (sections.length === 0) {
  console.error(`no examples found in ${dir}${only.length > 0 ? ` matching ${only.join(' ')}` : ''}`);
  process.exit(1);
}

const outcomes: Outcome[] = [];
for (const [file, number, name] of sections) {
  const title = `${number} · ${name!.replace(/-/g, ' ')}`;
  console.log(`\n${'='.repeat(72)}\n${title}\n${'='.repeat(72)}`);
  outcomes.push(await runSection(file!));
}

console.log(`\n${'='.repeat(72)}`);
for (const o of outcomes) {
  console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.file} (${(o.ms / 1000).toFixed(1)} s)${o.why ? `: ${o.why}` : ''}`);
}
const failed = outcomes.filter((o) => !o.ok).length;
console.log(failed === 0 ? `all ${outcomes.length} sections passed` : `${failed} of ${outcomes.length} sections failed`);
process.exitCode = failed === 0 ? 0 : 1;
