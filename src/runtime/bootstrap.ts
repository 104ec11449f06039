/**
 * Child side of the start-method seam, once the start method has opened the way to the parent: the
 * child adopts its identity, then imports its role's module and runs it (`Process`'s child side, or a
 * pool's worker loop). It knows no role by name, and loads nothing a role does not need, so children
 * start quickly.
 */
import { adoptIdentity, currentProcess } from './identity.js';
import type { ChildPort, RoleRunner, StartMessage } from './child.js';
import { reportChildError } from './report.js';

/** Runs the child described by `start`. A fault of the bootstrap itself ends the child, reported. */
export function runChild(start: StartMessage, port: ChildPort): void {
  adoptIdentity(start.identity);
  const { module, name } = start.role;
  import(module)
    .then((loaded: Record<string, unknown>) => {
      const run = (loaded[name] ?? (loaded['default'] as Record<string, unknown> | undefined)?.[name]) as RoleRunner<unknown> | undefined;
      if (typeof run !== 'function') throw new TypeError(`internal error: ${module} has no role function '${name}'`);
      return run(start.payload, port);
    })
    .catch((error: unknown) => {
      reportChildError(currentProcess().name, error);
      process.exit(1);
    });
}
