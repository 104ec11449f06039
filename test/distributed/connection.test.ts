// Reaching Redis: URLs checked and shown without their password, namespaces checked, and an unreachable
// server fails fast with a ConnectionError that names the URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { checkNamespace, connect, keysOf, parseRedisUrl } from '../../src/distributed/connection.js';
import { ConnectionError } from '../../src/errors.js';
import { Pool } from '../../src/distributed/index.js';
import { startRedis } from '../fixtures/distributed/redis.js';

const T = { timeout: 20_000 };

test('URLs: redis:// and rediss:// only; the password never shows', T, () => {
  assert.equal(parseRedisUrl('redis://:secret@127.0.0.1:6379/0').shown, 'redis://:***@127.0.0.1:6379/0');
  assert.equal(parseRedisUrl('rediss://user:pw@h:1').shown, 'rediss://user:***@h:1');
  assert.throws(() => parseRedisUrl('http://x'), { code: 'ERR_MP_INVALID_ARG', message: /must start with redis:\/\// });
  assert.throws(() => parseRedisUrl(6379), { code: 'ERR_MP_INVALID_ARG' });
});

test("a distributed Pool refuses an option it does not take, naming the one it likely means", T, () => {
  assert.throws(() => new Pool({ url: 'redis://127.0.0.1:1', chunkSize: 10 } as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: "a distributed new Pool() has no option 'chunkSize'. Did you mean 'chunksize'?",
  });
  assert.throws(() => new Pool({ url: 'redis://127.0.0.1:1', initializer: () => {} } as never), {
    code: 'ERR_MP_INVALID_ARG',
    message: /has no option 'initializer'\. It takes: url, namespace, processes, authkey, chunksize, maxQueue\.$/,
  });
});

test('namespaces become one hash tag', T, () => {
  assert.equal(checkNamespace(undefined), 'default');
  assert.throws(() => checkNamespace('a b'), { code: 'ERR_MP_INVALID_ARG' });
  assert.equal(keysOf('jobs').key('res', 'p1'), 'mp:{jobs}:res:p1');
});

test('an unreachable URL fails fast with ConnectionError naming it (no password)', T, async () => {
  // A port nobody listens on: take a free one and close it.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const error = await connect(parseRedisUrl(`redis://:pw@127.0.0.1:${port}`), 'command', 'test').then(
    () => assert.fail('should not connect'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionError);
  assert.equal(error.code, 'ERR_MP_CONNECTION');
  assert.match(error.message, new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
});

test('a reachable server answers', T, async () => {
  const redis = await startRedis();
  try {
    const connection = await connect(parseRedisUrl(redis.url), 'command', 'test');
    assert.equal(await connection.ping(), 'PONG');
    connection.disconnect();
  } finally {
    await redis.stop();
  }
});
