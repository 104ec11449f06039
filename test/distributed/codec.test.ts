// The distributed wire: values through v8 serialization (Map, Set, bigint, typed arrays intact), shared
// objects refused with their path, and frames signed with the authkey (HMAC-SHA256).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAuthkey, decode, encode, open, seal } from '../../src/distributed/codec.js';
import { Value } from '../../src/index.js';
import { AuthenticationError } from '../../src/errors.js';

const T = { timeout: 10_000 };

test('values keep Map, Set, bigint, Date and typed arrays', T, () => {
  const value = { m: new Map<unknown, unknown>([[1n, new Set(['a'])]]), d: new Date(5), f: new Float64Array([1.5, -2]), u: new Uint8Array([7]) };
  const back = decode(encode(value, 'args')) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(back.f instanceof Float64Array);
  assert.equal(back.m.get(1n) instanceof Set, true);
});

test('a thread-context shared object is refused, naming its path and the distributed fix', T, () => {
  const counter = new Value('i', 0);
  assert.throws(
    () => encode([1, { counter }], 'args'),
    (error: Error & { code?: string }) =>
      error.code === 'ERR_MP_UNCLONEABLE' && /args\[1\]\.counter/.test(error.message) && /multiprocessing\/distributed/.test(error.message),
  );
  assert.throws(() => encode({ buffer: new SharedArrayBuffer(8) }, 'item'), /item\.buffer cannot be sent to another machine/);
  assert.throws(() => encode([() => 1], 'args'), /args\[0\]/);
});

test('a signed frame opens with the same key and purpose only', T, () => {
  const key = checkAuthkey('s3cret')!;
  const body = encode({ x: 1 }, 'task');
  const frame = seal(key, 'task:ns', body);
  assert.equal(frame.length, 1 + 32 + body.length);
  assert.deepEqual(decode(open(key, 'task:ns', frame, 'a task')), { x: 1 });
  assert.throws(() => open(checkAuthkey('other'), 'task:ns', frame, 'a task'), AuthenticationError);
  assert.throws(() => open(key, 'result:ns', frame, 'a task'), AuthenticationError);
  assert.throws(() => open(undefined, 'task:ns', frame, 'a task'), /none is set here/);
  assert.throws(() => open(key, 'task:ns', seal(undefined, 'task:ns', body), 'a task'), /arrived unsigned/);
  const altered = Buffer.from(frame);
  altered[altered.length - 1] ^= 1;
  assert.throws(() => open(key, 'task:ns', altered, 'a task'), AuthenticationError);
  assert.deepEqual(decode(open(undefined, 'task:ns', seal(undefined, 'task:ns', body), 'a task')), { x: 1 });
});

test('authkey must be a non-empty string or bytes', T, () => {
  assert.equal(checkAuthkey(undefined), undefined);
  assert.throws(() => checkAuthkey(''), { code: 'ERR_MP_INVALID_ARG' });
  assert.throws(() => checkAuthkey(3), { code: 'ERR_MP_INVALID_ARG' });
});

// [1, 'a', { x: 2n }] as each family of runtimes serializes it: V8's format (Node 20; Deno writes the
// same), and JavaScriptCore's (Bun 1.4's node:v8). Neither family reads the other's.
const FROM_V8 = 'ff0f410349022201616f2201785a1002000000000000007b01240003';
const FROM_BUN =
  '0e0000000103000000000000000701000000100100008061020000000201000080782f00010000000200000000000000ffffffffffffffff';

test("the other family's bytes (V8 or Bun) are refused with ERR_MP_RUNTIME_MISMATCH, naming both and the fix", T, () => {
  const onBun = process.versions.bun !== undefined;
  assert.deepEqual(decode(Buffer.from(onBun ? FROM_BUN : FROM_V8, 'hex')), [1, 'a', { x: 2n }]);
  assert.throws(() => decode(Buffer.from(onBun ? FROM_V8 : FROM_BUN, 'hex')), {
    name: 'TypeError',
    code: 'ERR_MP_RUNTIME_MISMATCH',
    message: onBun
      ? /written by Node or Deno \(V8's serializer\) and cannot be read on Bun.*Node \(or Deno\) on both/
      : /written by Bun \(JavaScriptCore's serializer\) and cannot be read on (Node|Deno).*Node \(or Deno\) on both/,
  });
});
