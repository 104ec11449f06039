/**
 * The contract between a case (one measurement, run in its own fresh process)
 * and the orchestrator (bench/run.mjs).
 *
 * A case is started as `node bench/cases/<workload>.mjs '<json params>'` and
 * prints exactly one line starting with RESULT_MARKER followed by JSON:
 *   { status: 'ok', value, extra? }              a checked measurement
 *   { status: 'failed', reason }                 wrong answer or crash
 *   { status: 'not-implemented', reason }        our library lacks the feature (yet)
 *   { status: 'unsupported', reason }            the implementation cannot do this variant
 * The marker keeps library or peer logging on stdout from being mistaken for the result.
 */

export const RESULT_MARKER = '@@bench-result ';

/** Thrown when a case's own check of its result fails: the row must show FAILED. */
export class CheckFailed extends Error {}

/** Thrown when our library does not have the feature a case needs yet. */
export class NotImplemented extends Error {}

/** Thrown when an implementation has no way to do a variant (e.g. no transfer list). */
export class Unsupported extends Error {}

/**
 * Our built library could not be imported (dist/ missing, or being rebuilt
 * by someone else's `npm run build` at that moment): the orchestrator may
 * retry the run once dist/ is back, since nothing was measured.
 */
export class LibraryUnavailable extends Error {}

/** @param {boolean} condition @param {string} message */
export function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/**
 * Returns `module[name]`, or throws NotImplemented when the export is missing,
 * so a case written against API.md reports "not yet implemented" until it lands.
 * @param {Record<string, unknown>} module @param {string} name
 */
export function requireExport(module, name) {
  const value = module[name];
  if (value === undefined) throw new NotImplemented(`multiprocessing has no export '${name}' yet`);
  return value;
}

/**
 * Errors that mean "this part of the library is not built yet", whatever exact
 * wording the implementer chose (a stub that throws, an ERR_*_NOT_IMPLEMENTED code).
 * @param {unknown} error
 */
function looksNotImplemented(error) {
  if (error instanceof NotImplemented) return true;
  const code = /** @type {any} */ (error)?.code;
  const message = String(/** @type {any} */ (error)?.message ?? '');
  return /NOT_IMPLEMENTED/i.test(String(code ?? '')) || /not (yet )?implemented/i.test(message);
}

/** @param {unknown} error */
function describe(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** What the case is doing now, named in the report if it never finishes. */
let currentPhase = 'running';

/** Names the step a case is in, e.g. 'pool.join()'. @param {string} name */
export function phase(name) {
  currentPhase = name;
}

/** @param {object} result */
function emit(result) {
  return new Promise((resolve) => process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`, resolve));
}

/**
 * Runs one case: `cases[params.impl](params)` must resolve to `{ value, extra? }`
 * after checking its own answer. Exits the process afterwards, so a pool or
 * worker left running by an unfinished implementation cannot hang the bench.
 * @param {Record<string, (params: any) => Promise<{ value: number, extra?: object }>>} cases
 */
export async function runCase(cases) {
  const params = JSON.parse(process.argv[2] ?? '{}');
  const run = cases[params.impl];
  // If the event loop empties while the case still awaits something, a
  // promise was left unsettled with nothing to settle it: report that as a
  // failure instead of letting the process exit silently.
  process.once('beforeExit', () => {
    emit({ status: 'failed', reason: `a promise never settled: the event loop emptied during ${currentPhase}` })
      .then(() => process.exit(0));
  });
  let result;
  try {
    if (!run) throw new Error(`no case for implementation '${params.impl}'`);
    const { value, extra } = await run(params);
    check(Number.isFinite(value) && value > 0, `measured value is not a positive number: ${value}`);
    result = { status: 'ok', value, extra };
  } catch (error) {
    if (error instanceof Unsupported) result = { status: 'unsupported', reason: error.message };
    else if (looksNotImplemented(error)) result = { status: 'not-implemented', reason: describe(error) };
    else if (error instanceof CheckFailed) result = { status: 'failed', reason: `wrong result: ${error.message}` };
    else if (error instanceof LibraryUnavailable) result = { status: 'failed', reason: error.message, retryable: true };
    else result = { status: 'failed', reason: describe(error) };
  }
  await emit(result);
  process.exit(0);
}

/** Milliseconds from a high-resolution clock. */
export const now = () => performance.now();
