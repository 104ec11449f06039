// Errors thrown by tasks arrive as themselves where possible, and never hang or crash the pool.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Empty, RemoteError } from '../../src/index.js';
import { ctx, test } from '../fixtures/context.js';
import { cube, throwCustom, throwLibraryError, throwUnrebuildable, throwWithCause } from '../fixtures/pool/tasks.js';
import { failWithValidationCause, inspectArgument, makeValidationError, OutOfRange, validate, ValidationError } from '../fixtures/pool/error-classes.js';
import { rejectName } from '../fixtures/pool/error-throwers.js';

const { Pool } = ctx;

const T = { timeout: 20_000 };

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('should reject'),
    (e: unknown) => e,
  );
}

test('the cause chain is kept, with classes and codes', T, async () => {
  const pool = new Pool(2);
  try {
    const error = (await thrown(pool.apply(throwWithCause))) as Error;
    assert.equal(error.message, 'outer');
    const cause = error.cause as RangeError & { code?: string };
    assert.ok(cause instanceof RangeError);
    assert.equal(cause.message, 'inner');
    assert.equal(cause.code, 'E_INNER');
    assert.match(String(error.stack), /throwWithCause/);
  } finally {
    await pool.terminate();
  }
});

test("an unknown error class keeps its name, message and properties", T, async () => {
  const pool = new Pool(2);
  try {
    const error = (await thrown(pool.apply(throwCustom))) as Error & { limit?: number };
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'QuotaError');
    assert.equal(error.message, 'over quota');
    assert.equal(error.limit, 5);
  } finally {
    await pool.terminate();
  }
});

test('an error of a class a module exports arrives as an instance of it, from apply, map and imap', T, async () => {
  // As `except ValidationError` works in Python: pickle names the class by module and name.
  const pool = new Pool(2);
  try {
    const error = await thrown(pool.apply(validate, [-1]));
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.field, 'x');
    assert.equal(error.message, 'negative: -1');
    assert.equal(error.name, 'ValidationError');
    assert.equal(error.describe(), 'x: negative: -1');
    assert.match(String(error.stack), /^ValidationError: negative: -1\n\s+at validate /);
    const outOfRange = await thrown(pool.apply(validate, [101]));
    assert.ok(outOfRange instanceof OutOfRange && outOfRange instanceof RangeError, String(outOfRange));

    // A chunk where one item failed, and a chunk that failed whole.
    await assert.rejects(pool.map(validate, [1, 2, -3, 4], 2), (e) => e instanceof ValidationError && e.message === 'negative: -3');
    await assert.rejects(pool.map(validate, [-5], 1), (e) => e instanceof ValidationError && e.message === 'negative: -5');
    const seen: unknown[] = [];
    const it = pool.imap(validate, [1, -2, 3], 1);
    for (let i = 0; i < 3; i++) seen.push(await it.next().then((r) => r.value, (e: unknown) => e));
    assert.equal(seen[0], 1);
    assert.ok(seen[1] instanceof ValidationError, String(seen[1]));
    assert.equal(seen[2], 3);
  } finally {
    await pool.terminate();
  }
});

test('an error of a class imported from another module arrives as an instance of it', T, async () => {
  // Thrown by a function of a module that imports the class: where the inspector cannot locate the
  // class (Bun, Deno), it is found among the throwing file's imports.
  const pool = new Pool(1);
  try {
    const error = await thrown(pool.apply(rejectName, ['']));
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.describe(), 'name: not a name: ""');
    // The class was located once; the next error of it (from the other module) takes it too.
    assert.ok((await thrown(pool.apply(validate, [-1]))) instanceof ValidationError);
  } finally {
    await pool.terminate();
  }
});

test("an error's cause keeps its class, and so does an error returned or sent as an argument", T, async () => {
  const pool = new Pool(2);
  try {
    const error = (await thrown(pool.apply(failWithValidationCause))) as Error;
    assert.equal(error.message, 'could not save');
    assert.ok(error.cause instanceof ValidationError, String(error.cause));
    assert.equal(error.cause.field, 'email');

    const { error: returned } = await pool.apply(makeValidationError, ['made, not thrown']);
    assert.ok(returned instanceof ValidationError, String(returned));
    assert.equal(returned.describe(), 'returned: made, not thrown');
    assert.match(String(returned.stack), /at makeValidationError /);

    assert.deepEqual(await pool.apply(inspectArgument, [new ValidationError('sent', 'arg')]), [true, 'arg']);
  } finally {
    await pool.terminate();
  }
});

test('an error that cannot be rebuilt arrives as RemoteError with the original name, text and stack', T, async () => {
  const pool = new Pool(2);
  try {
    const error = (await thrown(pool.apply(throwUnrebuildable))) as RemoteError;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.code, 'ERR_MP_REMOTE');
    assert.equal(error.remoteName, 'ParseFailure');
    assert.equal(error.message, 'parse failed at line 12');
    assert.match(String(error.stack), /throwUnrebuildable/);
    await assert.rejects(pool.map(throwUnrebuildable as never as (x: number) => never, [1, 2]), RemoteError);
    assert.equal(await pool.apply(cube, [2]), 8);
  } finally {
    await pool.terminate();
  }
});

test("this library's classes keep their class across", T, async () => {
  const pool = new Pool(2);
  try {
    const error = await thrown(pool.apply(throwLibraryError));
    assert.ok(error instanceof Empty, String(error));
    assert.equal(error.code, 'ERR_MP_EMPTY');
    assert.equal(error.message, 'nothing in the queue');
  } finally {
    await pool.terminate();
  }
});

test('thrown non-errors: a string crosses as itself, a function as a RemoteError', T, async () => {
  const pool = new Pool(2);
  try {
    assert.equal(await thrown(pool.apply(() => {
      throw 'just a string';
    })), 'just a string');
    assert.deepEqual(await thrown(pool.apply(() => {
      throw { code: 42 };
    })), { code: 42 });
    assert.equal(await thrown(pool.apply(() => {
      throw undefined;
    })), undefined);
    const error = await thrown(pool.apply(() => {
      throw () => 1;
    }));
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(await pool.apply(cube, [3]), 27);
  } finally {
    await pool.terminate();
  }
});

test('a rejected promise from an async task rejects the task', T, async () => {
  const pool = new Pool(2);
  try {
    await assert.rejects(pool.apply(async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new SyntaxError('async failure');
    }), (e: Error) => e instanceof SyntaxError && e.message === 'async failure');
  } finally {
    await pool.terminate();
  }
});

test('a function shipped by source shows its real file, line and column in stacks, not a data: URL', T, async () => {
  const pool = new Pool(1);
  try {
    const error = await pool
      .apply(function explode(n: number) {
        if (n > 0) throw new RangeError('boom');
        return n;
      }, [1])
      .catch((e: unknown) => e as Error);
    assert.ok(error instanceof RangeError);
    const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes("throw new RangeError('boom')"));
    const at = `${fileURLToPath(import.meta.url)}:${line + 1}:${lines[line]!.indexOf('new') + 1}`;
    assert.ok(error.stack?.includes(`at explode (${at})`), error.stack);
    assert.doesNotMatch(error.stack ?? '', /data:text/);
  } finally {
    await pool.terminate();
  }
});
