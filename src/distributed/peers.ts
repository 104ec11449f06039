/**
 * `bullmq` and `ioredis`: the optional peer dependencies of `multiprocessing/distributed`, so the core
 * package never loads them, and the one place that says what to install when they are missing.
 *
 * - At import: the subpath's entry calls `checkPeers()`, so a program without them fails at its import
 *   line, with a message naming the packages and the command, rather than at its first connection (or,
 *   for a program that only makes a `Queue` handle, at some later call). The check only resolves the
 *   names (`require.resolve`, nothing of theirs is loaded): about 2 ms here, once per import.
 * - At the first connection: `peer()` imports the one it needs (loading bullmq costs tens of ms, which
 *   a program that only uses a `Lock` never pays).
 */
import { createRequire } from 'node:module';
import { misuse } from '../errors.js';
import { importModule } from '../runtime/import-module.js';

type PeerName = 'bullmq' | 'ioredis';
const PEERS: readonly PeerName[] = ['bullmq', 'ioredis'];

/** Whether `error` says that a package could not be found (and not that it failed to load). */
function notFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

function missingPeers(missing: readonly PeerName[], cause?: unknown): Error {
  const which = missing.length === 1 ? `'${missing[0]}' is` : `${missing.map((name) => `'${name}'`).join(' and ')} are`;
  return misuse(
    Error,
    'ERR_MP_MISSING_DEPENDENCY',
    `multiprocessing/distributed needs the packages 'bullmq' and 'ioredis' (optional peer dependencies, so the core ` +
      `never loads them), and ${which} not installed: run npm install bullmq ioredis`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * @internal Throws `ERR_MP_MISSING_DEPENDENCY`, naming what to install, unless both peers resolve from
 * this package. A peer that resolves but cannot be required (an ES-module-only release) counts as there.
 */
export function checkPeers(): void {
  const require = createRequire(import.meta.url);
  const missing = PEERS.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch (error) {
      return notFound(error);
    }
  });
  if (missing.length > 0) throw missingPeers(missing);
}

/**
 * @internal Imports an optional peer dependency, or throws `ERR_MP_MISSING_DEPENDENCY` saying how to
 * install it.
 * @example `const { Queue } = await peer<typeof import('bullmq')>('bullmq');`
 */
export async function peer<T>(name: PeerName): Promise<T> {
  try {
    return (await importModule(name)) as T;
  } catch (cause) {
    if (!notFound(cause)) throw cause;
    throw missingPeers([name], cause);
  }
}
