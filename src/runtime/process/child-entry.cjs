/**
 * The main module of a `'process'` child (`child_process.fork` runs it; the build copies it beside the
 * bundle as `process-child.cjs`). Like a thread's entry, it knows no feature: it loads the library
 * named on its command line and runs the role registered under the given name (`child-port.ts`).
 *
 * Plain JavaScript, because it must run before any TypeScript loader: a child given its own `execArgv`
 * has no tsx until this file registers it. CommonJS, with nothing imported before its listener is on,
 * because Node delivers IPC messages that arrive with no `'message'` listener to nobody: this file runs
 * synchronously, so the listener is on before the channel is first read, and messages wait in `inbox`
 * until the role takes them.
 *
 * The arguments it takes are removed from `process.argv`, so the child sees only the user's `argv`.
 */
'use strict';
const { fileURLToPath } = require('node:url');

// The library's module to load (the bundle, or the sources), the role's name, the bundle's format
// ('esm' or 'cjs'), tsx's API URL ('' unless this child's Node options lack the parent's tsx), and
// whether the library is TypeScript.
const [library, role, format, tsxApi, libraryIsTypeScript] = process.argv.splice(2, 5);

/** @type {{ queue: unknown[], deliver: ((message: unknown) => void) | undefined }} */
const inbox = { queue: [], deliver: undefined };
process.on('message', (message) => {
  if (inbox.deliver === undefined) inbox.queue.push(message);
  else inbox.deliver(message);
});
// The channel keeps this child alive only while its role listens (`child-port.ts` refs it then).
if (process.channel) process.channel.unref();
// The parent is gone (it exited, or was killed): so is this child, as a thread dies with its program.
process.on('disconnect', () => process.exit(1));

// tsx is registered before the first import that may need it (runtime/typescript-hooks.ts), and at once
// if the library itself is TypeScript.
let registered;
if (tsxApi !== '') {
  globalThis[Symbol.for('multiprocessing.registerTsx')] = () =>
    (registered ??= import(tsxApi).then((api) => {
      api.register();
      globalThis[Symbol.for('multiprocessing.tsxRegistered')] = true;
    }));
}

(async () => {
  if (tsxApi !== '' && libraryIsTypeScript === 'true') await globalThis[Symbol.for('multiprocessing.registerTsx')]();
  if (format === 'cjs') require(fileURLToPath(library));
  else await import(library);
  // The role table of runtime/child.ts (perThread('roles')).
  await globalThis[Symbol.for('multiprocessing.roles')].get(role)(inbox);
})().catch((error) => {
  setImmediate(() => {
    throw error;
  });
});
