// How a function is named for the workers, on every runtime: by the inspector on Node, by the modules its
// caller imports on Bun and Deno (which cannot say where a function was defined); a function no imported
// module exports is refused there for that reason, with the fix ({ module, name }).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taskNameOf } from '../../src/distributed/task-name.js';
import { cube } from '../fixtures/distributed/tasks.js';

const T = { timeout: 30_000 };

test('an exported function imported by the caller is named by its module and export', T, () => {
  const name = taskNameOf(cube);
  assert.equal(name.module, './test/fixtures/distributed/tasks.ts');
  assert.equal(name.name, 'cube');
  assert.match(name.hash, /^[0-9a-f]{64}$/);
});

test('a function no module exports is refused with the true reason and the fix', T, () => {
  const local = (x: number): number => x * 2;
  const onNode = process.versions.bun === undefined && !('Deno' in globalThis);
  assert.throws(() => taskNameOf(local), {
    code: 'ERR_MP_FUNCTION_UNSENDABLE',
    message: onNode
      ? /fn 'local'/
      : /fn 'local' cannot be named for the workers: (Bun|Deno) cannot tell where a function was defined.*Pass \{ module, name \}.*name: 'local'/,
  });
});
