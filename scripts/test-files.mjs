// The test files of the suite: every *.test.ts under test/, but fixtures and type tests, sorted.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) {
      if (entry !== 'fixtures' && entry !== 'types') found.push(...findTests(full));
    } else if (entry.endsWith('.test.ts')) {
      found.push(full);
    }
  }
  return found;
}

/** The suite's test files, relative to the working directory (the repository). */
export function testFiles() {
  return findTests('test').map((f) => relative('.', f)).sort();
}

// A file that imports test/fixtures/context.ts takes its API from a start method's context.
const CONTEXT_HELPER = /from '(\.\.\/)+fixtures\/context\.js'/;

/** Of `files`, those that run once per start method (they import the context helper). */
export function perMethodFiles(files) {
  return files.filter((f) => CONTEXT_HELPER.test(readFileSync(f, 'utf8')));
}
