/**
 * What the library tells a user to run to serve a task's module (the no-worker notice, the unknown-task
 * error): one place, so each message names a command that works. A TypeScript module needs Node to load
 * TypeScript first (`node --import tsx …`): plain `npx multiprocessing worker --import ./src/tasks.ts`
 * fails on Node 20 with `ERR_UNKNOWN_FILE_EXTENSION`.
 */

/** Whether Node needs a loader (tsx) to import the module `specifier`. */
export function isTypeScript(specifier: string): boolean {
  return /\.[cm]?tsx?$/.test(specifier);
}

/**
 * The command that starts a worker serving `module` for a namespace at a Redis URL (as shown: no
 * password).
 *
 * @example `workerCommand('redis://h:6379', 'jobs', './dist/tasks.js') // 'npx multiprocessing worker --url redis://h:6379 --namespace jobs --import ./dist/tasks.js'`
 */
export function workerCommand(url: string, namespace: string, module: string): string {
  const ns = namespace === 'default' ? '' : ` --namespace ${namespace}`;
  const runner = isTypeScript(module) ? 'node --import tsx node_modules/.bin/multiprocessing' : 'npx multiprocessing';
  return `${runner} worker --url ${url}${ns} --import ${module}`;
}
