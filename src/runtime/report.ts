/**
 * How a child reports an error nobody else will see: `Process <name>:` then the stack on stderr, as
 * Python prints a child's traceback. Used for a `Process` target's uncaught error, and for an error
 * thrown by a timer or left as an unhandled rejection inside a pool worker, which goes on running.
 */
import { printableStack } from '../transport/stack-frames.js';
import { safeString } from '../transport/remote-error.js';

/** Prints a child's uncaught error the way Python prints a child's traceback. Never throws. */
export function reportChildError(name: string, error: unknown): void {
  process.stderr.write(`Process ${name}:\n${errorText(error)}\n`);
}

// The stack when it can be read (a getter or a Proxy may throw), else what String() gives.
function errorText(error: unknown): string {
  try {
    if (error instanceof Error) {
      const stack: unknown = error.stack;
      return typeof stack === 'string' ? printableStack(stack) : `${String(error.name)}: ${String(error.message)}`;
    }
  } catch {
    // fall through to what can be said of any value
  }
  return safeString(error);
}
