/**
 * The main module of a `'process'` child (`child_process.fork` runs it; the build copies it beside the
 * bundle as `process-child.cjs`). Like a thread's entry, it knows no feature: it loads the library
 * named on its command line and runs the role registered under the given name (`child-port.ts`).
 *
 * CommonJS, and nothing imported before its listener is on, because Node delivers IPC messages that
 * arrive with no `'message'` listener to nobody: this file runs synchronously, so the listener is on
 * before the channel is first read, and messages wait in `inbox` until the role takes them.
 *
 * The arguments it takes are removed from `process.argv`, so the child sees only the user's `argv`.
 */
const { fileURLToPath } = require('node:url') as typeof import('node:url');

interface Inbox {
  readonly queue: unknown[];
  deliver: ((message: unknown) => void) | undefined;
}

const [library, role, format] = process.argv.splice(2, 3) as [string, string, string];
const inbox: Inbox = { queue: [], deliver: undefined };
process.on('message', (message: unknown) => {
  if (inbox.deliver === undefined) inbox.queue.push(message);
  else inbox.deliver(message);
});
// The channel keeps this child alive only while its role listens (`child-port.ts` refs it then).
process.channel?.unref();
// The parent is gone (it exited, or was killed): so is this child, as a thread dies with its program.
process.on('disconnect', () => process.exit(1));

(async () => {
  if (format === 'cjs') require(fileURLToPath(library));
  else await import(library);
  // The role table of runtime/child.ts (perThread('roles')).
  const roles = (globalThis as Record<symbol, Map<string, (inbox: Inbox) => Promise<void>> | undefined>)[Symbol.for('multiprocessing.roles')];
  await roles!.get(role)!(inbox);
})().catch((error: unknown) => {
  setImmediate(() => {
    throw error;
  });
});
