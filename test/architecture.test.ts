// The rules of docs/architecture.md, checked on the sources: no import circle, worker_threads and
// child_process only in runtime/, and runtime/ and transport/ import no feature module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

interface Import {
  readonly specifier: string;
  /** A module of the library, resolved; undefined for a package or a built-in. */
  readonly target: string | undefined;
  readonly typeOnly: boolean;
}

// Static imports and re-exports (type-only ones marked) and dynamic import() of a literal.
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const pattern = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[2] ?? match[3]!;
    const typeOnly = match[1] !== undefined || /^\s*(import|export)\s+\{\s*(type\s+[\w$]+(\s+as\s+[\w$]+)?\s*,?\s*)+\}/.test(match[0]);
    const target = specifier.startsWith('.') ? resolve(dirname(file), specifier.replace(/\.js$/, '.ts')) : undefined;
    found.push({ specifier, target, typeOnly });
  }
  return found;
}

const files = sources(src);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const area = (file: string): string => relative(src, file).split('/')[0]!;

test('no import circle in src/ (type-only imports aside)', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const { target, typeOnly } of graph.get(file) ?? []) if (target !== undefined && !typeOnly && graph.has(target)) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(circles, []);
});

test('only runtime/ imports worker_threads or child_process', () => {
  const outside = files.filter(
    (file) => area(file) !== 'runtime' && graph.get(file)!.some(({ specifier }) => /^(node:)?(worker_threads|child_process)$/.test(specifier)),
  );
  assert.deepEqual(outside.map((f) => relative(src, f)), []);
});

test('runtime/ and transport/ import no feature module, nor the context or the index', () => {
  const features = new Set(['sync', 'memory', 'queues', 'process', 'pool', 'context.ts', 'index.ts']);
  const offending: string[] = [];
  for (const file of files) {
    if (area(file) !== 'runtime' && area(file) !== 'transport') continue;
    for (const { target, typeOnly } of graph.get(file)!) {
      if (target !== undefined && !typeOnly && features.has(area(target))) offending.push(`${relative(src, file)} → ${relative(src, target)}`);
    }
  }
  assert.deepEqual(offending, []);
});

test('the checks see the imports: a known edge is found', () => {
  const spawn = graph.get(join(src, 'runtime/spawn.ts'))!;
  assert.ok(spawn.some(({ target }) => target === join(src, 'runtime/liveness.ts')));
  assert.ok(graph.get(join(src, 'runtime/thread/starter.ts'))!.some(({ specifier }) => specifier === 'node:worker_threads'));
});
