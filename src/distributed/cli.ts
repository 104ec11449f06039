/**
 * The `multiprocessing` command (package.json `bin`). Today one subcommand, `worker`: serve a
 * distributed pool's tasks on this machine. Only argument parsing lives here; the worker itself is
 * `worker.ts`, exported by the subpath as `runWorker` (the build points `./index.js` at the subpath's
 * bundle, so the command loads the library once).
 */
const USAGE = `usage: multiprocessing worker --url redis://host:6379 --import ./dist/tasks.js [--import …]
                              [--namespace default] [--processes N] [--authkey-file FILE]`;

const [command] = process.argv.slice(2);
if (command !== 'worker') {
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = 2;
} else {
  process.stderr.write('multiprocessing worker: not built yet\n');
  process.exitCode = 1;
}
