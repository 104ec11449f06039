#!/usr/bin/env node
// CI entry for the tutorial: runs examples/index.ts under tsx (every examples/NN-*.ts, each in its own
// child process, 60 s limit per section). Arguments select sections: `node scripts/run-examples.mjs 01`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../examples/index.ts', import.meta.url));
const result = spawnSync(process.execPath, ['--import', 'tsx', index, ...process.argv.slice(2)], { stdio: 'inherit' });
if (result.error) console.error(result.error.message);
process.exit(result.status ?? 1);
