// Errors thrown by tasks arrive as themselves where possible, and never hang or crash the pool.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Empty, RemoteError } from '../../src/index.js';
import { ctx, test } from '../fixtures/context.js';
import { cube, throwCustom, throwLibraryError, throwUnrebuildable, throwWithCause } from '../fixtures/pool/tasks.js';

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
