#!/usr/bin/env node
// Builds dist/esm (tsc: JavaScript + declarations) and dist/cjs (the same files turned into CommonJS by
// esbuild, one file at a time, so both builds keep one module per source file and workers can load the
// bootstrap of their own flavour).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { transformSync } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

const banner = "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;";
for (const file of walk('dist/esm')) {
  const target = file.replace(/^dist[\\/]esm/, join('dist', 'cjs'));
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith('.js')) {
    const source = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '');
    const usesMeta = source.includes('import.meta.url');
    const { code } = transformSync(source, {
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: usesMeta ? { 'import.meta.url': '__importMetaUrl' } : {},
      banner: usesMeta ? banner : '',
      supported: { 'dynamic-import': true },
    });
    writeFileSync(target, code);
  } else if (file.endsWith('.d.ts')) {
    copyFileSync(file, target.replace(/\.d\.ts$/, '.d.cts'));
    copyFileSync(file, target);
  }
}
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
console.log('built dist/esm and dist/cjs');
