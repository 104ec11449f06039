/**
 * The program's Node options as a child inherits them: `process.execArgv` without the options that
 * describe the program's own input (`-e`/`--eval`, `-p`/`--print` with their script, `--input-type`,
 * `-i`, `-c`). A child given those would run the program's string instead of its own entry (a forked
 * process), or parse its entry as another kind of module (a worker thread takes `--input-type` for its
 * `eval` source: under `node --input-type=module -e …` every worker failed with "require is not defined
 * in ES module scope").
 */

// Options that take the next argument as their value when not written `--name=value`.
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe', '--input-type']);
const ALONE = new Set(['-i', '--interactive', '-c', '--check']);

/** `execArgv` without the options about the program's own input. */
export function inheritableExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const option = execArgv[i]!;
    const name = option.startsWith('--') ? option.split('=', 1)[0]! : option;
    if (WITH_VALUE.has(name)) {
      if (name === option) i += 1; // its value is the next argument
      continue;
    }
    if (ALONE.has(name)) continue;
    kept.push(option);
  }
  return kept;
}

/** Whether the program's options describe its own input, so that a child must not inherit them as they are. */
export function programInputOptions(execArgv: readonly string[] = process.execArgv): boolean {
  return inheritableExecArgv(execArgv).length !== execArgv.length;
}
