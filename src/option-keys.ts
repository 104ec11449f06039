/**
 * Options objects are checked for keys they do not take. Without this, a misspelt or Python-spelt
 * option (`maxtasksperchild`, `initArgs`) was ignored without a word and the program ran without it,
 * where Python refuses an unexpected keyword argument.
 */
import { misuse } from './errors.js';

// `maxtasksperchild`, `max_tasks_per_child` and `maxTasksPerChild` name the same option.
const spelling = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

// Edits (insertions, deletions, substitutions) from `a` to `b`, for a typo such as `timout`.
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The option `key` most likely means: the same but for case and underscores, or one or two typos away. */
function likelyMeant(key: string, known: readonly string[]): string | undefined {
  const wanted = spelling(key);
  const same = known.find((name) => spelling(name) === wanted);
  if (same !== undefined) return same;
  // A third of its letters mistyped at most, and never more than two: `ab` is no typo of `args`.
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(wanted.length / 3)) + 1;
  for (const name of known) {
    const distance = editDistance(wanted, spelling(name));
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/**
 * Throws a `TypeError` (`ERR_MP_INVALID_ARG`) naming the first own key of `options` that is not in
 * `known`, with the fix: `hints[key]` when given (a Python keyword with no equivalent), else the option
 * it most likely means, else the list of options `call` takes.
 */
export function checkOptionKeys(options: object, known: readonly string[], call: string, hints: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const meant = likelyMeant(key, known);
    const fix = Object.hasOwn(hints, key) ? hints[key]! : meant === undefined ? `It takes: ${known.join(', ')}.` : `Did you mean '${meant}'?`;
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `${call} has no option '${key}'. ${fix}`);
  }
}
