/**
 * Child side of the start-method seam, once the start method has opened the way to the parent: the
 * child adopts its identity, then imports its role's module and runs it (`Process`'s child side, or a
 * pool's worker loop). It knows no role by name, and loads nothing a role does not need, so children
 * start quickly.
 */
import { adoptIdentity, currentProcess } from './identity.js';
import { registeredRole, type ChildPort, type StartMessage } from './child.js';
import { reportChildError } from './report.js';
import { importModule } from './import-module.js';
import { enterProcessChild } from './start-methods.js';

/** Runs the child described by `start`; settles once its role has run. A fault of the bootstrap itself ends the child, reported. */
export function runChild(start: StartMessage, port: ChildPort): Promise<void> {
  adoptIdentity(start.identity);
  if (start.inProcessChild === true) enterProcessChild();
  const role = start.role;
  // In the built bundle, loading the library registered every role already: importing the module again
  // is a no-op for an ES module but, for the CommonJS bundle, a scan of its whole text for exports.
  const loaded = registeredRole(role) === undefined ? importModule(role.module) : Promise.resolve();
  return loaded
    .then(() => {
      const run = registeredRole(role);
      if (run === undefined) throw new TypeError(`internal error: ${role.module} registers no role '${role.name}'`);
      return run(start.payload, port);
    })
    .catch((error: unknown) => {
      reportChildError(currentProcess().name, error);
      process.exit(1);
    });
}
