// What a child inherits of the program's Node options (runtime/program-options.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inheritableExecArgv, programInputOptions } from '../../src/runtime/program-options.js';

test("the options about the program's own input are not inherited; the others are, in order", () => {
  const execArgv = ['--input-type=module', '--enable-source-maps', '-e', 'console.log(1)', '--import', 'tsx', '--input-type', 'commonjs', '--eval=x', '-p', '2', '-i', '--max-old-space-size=64', '-c'];
  assert.deepEqual(inheritableExecArgv(execArgv), ['--enable-source-maps', '--import', 'tsx', '--max-old-space-size=64']);
  assert.equal(programInputOptions(execArgv), true);
  assert.equal(programInputOptions(['--enable-source-maps', '--import', 'tsx']), false);
  assert.deepEqual(inheritableExecArgv([]), []);
});
