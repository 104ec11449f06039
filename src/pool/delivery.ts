/**
 * How the pool hands outcomes to the user's code, in one place.
 *
 * - A user callback (`callback`, `errorCallback`, `onProgress`) that throws is reported on stderr and
 *   changes nothing else: the result settles as it would have, and the pool goes on. (In Python a
 *   throwing callback kills the result-handler thread, and every later result hangs.)
 * - A promise the pool returned that `terminate()` rejects is marked handled: a pool stopped on purpose
 *   never crashes the program with an unhandled rejection, yet whoever awaits the promise still gets the
 *   error. Rejections for any other reason stay as visible as any promise's.
 */

/**
 * Runs a user callback; if it throws, reports the error on stderr (naming `label`) and returns normally.
 *
 * @example `runUserCallback('an onProgress callback', () => onProgress(done, total));`
 */
export function runUserCallback(label: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    process.stderr.write(`multiprocessing: ${label} threw; the result is unaffected:\n${text}\n`);
  }
}

/**
 * `inner`, as a promise that is marked handled when it rejects while `quiet()` is true (the pool was
 * terminated): awaiting it still rejects, but nobody awaiting it is not an error.
 */
export function quietWhen<T>(inner: Promise<T>, quiet: () => boolean): Promise<T> {
  const outer: Promise<T> = new Promise<T>((resolve, reject) => {
    inner.then(resolve, (error: unknown) => {
      // `outer` exists by now: `then` callbacks never run before the executor has returned.
      if (quiet()) outer.catch(() => {});
      reject(error);
    });
  });
  return outer;
}

/**
 * Rejects the promise `promise()` (through its executor's `reject`) with `error`, marking it handled
 * first when `quiet()` is true, as `quietWhen` does, for a promise the pool settles itself. The promise
 * is not assigned yet when the rejection comes from inside its executor (a task refused as it is
 * submitted): it is then marked in a microtask, before Node looks for unhandled rejections.
 */
export function rejectQuietlyWhen(
  promise: () => Promise<unknown> | undefined,
  reject: (error: unknown) => void,
  error: unknown,
  quiet: () => boolean,
): void {
  if (quiet()) {
    const settled = promise();
    if (settled !== undefined) settled.catch(ignore);
    else queueMicrotask(() => promise()?.catch(ignore));
  }
  reject(error);
}

function ignore(): void {}
