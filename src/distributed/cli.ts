/**
 * The `multiprocessing` command (package.json `bin`). One subcommand, `worker`: serve a distributed
 * pool's tasks on this machine. Only argument parsing and signals live here; the worker itself is
 * `worker.ts`, exported by the subpath as `runWorker` (the build points `./index.js` at the subpath's
 * bundle, so the command loads the library once).
 *
 * Signals: the first SIGTERM (or SIGINT) drains (no new jobs; running ones finish); a second abandons
 * the running jobs, whose leases then expire so that other workers run them again.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: multiprocessing worker --url redis://host:6379 --import ./dist/tasks.js [--import …]
                              [--namespace default] [--processes N] [--concurrency JOBS]
                              [--authkey-file FILE] [--lost-task-timeout MS]`;

function fail(message: string): never {
  process.stderr.write(`multiprocessing: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function wholeNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) fail(`${flag} takes a whole number, not '${text}'`);
  return value;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'worker') fail(command === undefined ? 'no command given' : `unknown command '${command}'`);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        url: { type: 'string' },
        namespace: { type: 'string' },
        import: { type: 'string', multiple: true },
        processes: { type: 'string' },
        concurrency: { type: 'string' },
        'authkey-file': { type: 'string' },
        'lost-task-timeout': { type: 'string' },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.url === undefined) fail('--url is required');
  // The key's file holds the key as is (a trailing newline, as editors leave, is not part of it).
  const authkeyFile = values['authkey-file'];
  const authkey = authkeyFile === undefined ? undefined : readFileSync(authkeyFile, 'utf8').replace(/\r?\n$/, '');
  // Imported here, not above: without bullmq and ioredis the subpath throws as it loads, and the error
  // then reaches the one report below (its code and message) instead of an uncaught stack.
  const { runWorker } = await import('./index.js');
  const worker = await runWorker({
    url: values.url,
    namespace: values.namespace,
    imports: values.import ?? [],
    processes: wholeNumber(values.processes, '--processes'),
    concurrency: wholeNumber(values.concurrency, '--concurrency'),
    authkey,
    lostTaskTimeout: wholeNumber(values['lost-task-timeout'], '--lost-task-timeout'),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      process.stdout.write(`multiprocessing worker: ${signal}: finishing the running tasks (send it again to abandon them)\n`);
      void worker.close().then(() => process.exit(0));
    } else {
      process.stdout.write(`multiprocessing worker: ${signal} again: abandoning the running tasks\n`);
      void worker.abandon().then(() => process.exit(1));
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error | null)?.message ?? String(error);
  process.stderr.write(`multiprocessing worker: ${typeof code === 'string' ? `${code}: ` : ''}${message}\n`);
  process.exit(1);
});
