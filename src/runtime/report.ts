import { printableStack } from '../transport/stack-frames.js';

/** Prints a child's uncaught error the way Python prints a child's traceback: `Process <name>:` then the stack. */
export function reportChildError(name: string, error: unknown): void {
  const text = error instanceof Error ? printableStack(error.stack ?? `${error.name}: ${error.message}`) : String(error);
  process.stderr.write(`Process ${name}:\n${text}\n`);
}
