/**
 * What travels through Redis: values as bytes, and frames that carry them, signed when there is an
 * authkey.
 *
 * - Values: `v8.serialize`, so `Map`, `Set`, `bigint`, `Date`, `RegExp`, typed arrays and errors'
 *   plain fields arrive intact (BullMQ's own job data is JSON, which would turn a `Map` into `{}` and
 *   refuse a `bigint`). What cannot cross machines is refused with the path of the culprit: functions,
 *   and shared objects of the thread context (`Value`, `Lock`, a `SharedArrayBuffer`), which are shared
 *   by reference inside one machine only.
 * - Frames: `[0][body]`, or with an authkey `[1][HMAC-SHA256 (32 bytes)][body]`. The MAC covers a
 *   purpose string (the namespace and what the frame is: a task, a result…) and the body, so a frame
 *   cannot be replayed as another kind. The receiver checks it before it decodes anything (decoding is
 *   where a forged payload could do harm), with a constant-time comparison. This is Python's `authkey`:
 *   defence in depth on a shared Redis, beside Redis's ACL users and TLS, which protect the transport.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import v8 from 'node:v8';
import { AuthenticationError, describeValue, misuse } from '../errors.js';
import { findUncloneable, mayNeedPacking } from '../transport/payload.js';
import { packNamed, unpackNamed } from './objects/wire.js';

/** The fix every refusal of a shared object names. */
const SHARED_FIX =
  'Shared objects of one machine (Value, Array, Lock, Queue, SharedArrayBuffer) cannot cross machines: ' +
  'use Value, Array, Lock or Queue from multiprocessing/distributed, or send plain data.';

/**
 * `value` as bytes; a `TypeError` (`ERR_MP_UNCLONEABLE`) naming `path` and the culprit when a part
 * cannot cross machines.
 *
 * @example `decode(encode(new Map([[1n, new Set(['a'])]]), 'item')) // Map { 1n => Set { 'a' } }`
 */
export function encode(value: unknown, path: string): Buffer {
  // Distributed shared objects cross as their names (objects/wire.ts); those of one machine do not.
  const named = mayNeedPacking(value) ? packNamed(value) : value;
  throwIfUncrossable(named, path);
  try {
    return v8.serialize(named);
  } catch (cause) {
    throw misuse(TypeError, 'ERR_MP_UNCLONEABLE', `${path} cannot be sent to another machine: ${(cause as Error).message}. ${SHARED_FIX}`, {
      cause,
    });
  }
}

/**
 * Throws what `encode` would for a part of `value` that cannot cross machines (a function, a shared
 * object of one machine), without encoding it: for checks at the call, before the value is queued.
 */
export function checkCrossable(value: unknown, path: string): void {
  throwIfUncrossable(mayNeedPacking(value) ? packNamed(value) : value, path);
}

// A walk only when the value is not plainly data (most arguments and chunks are).
function throwIfUncrossable(named: unknown, path: string): void {
  const culprit = mayNeedPacking(named) ? findUncloneable(named, path, true) : undefined;
  if (culprit !== undefined) {
    throw misuse(TypeError, 'ERR_MP_UNCLONEABLE', `${culprit.path} cannot be sent to another machine: ${culprit.reason}. ${SHARED_FIX}`);
  }
}

/**
 * The value `encode` was given. Bytes written by the other family of runtimes cannot be read (see
 * `foreignEncoding`): a `TypeError` (`ERR_MP_RUNTIME_MISMATCH`) says so, and what to run instead.
 */
export function decode(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = v8.deserialize(bytes);
  } catch (cause) {
    throw foreignEncoding(bytes, cause) ?? cause;
  }
  return unpackNamed(value, bytes);
}

/** V8's serializer starts its bytes with this version tag; Bun's (JavaScriptCore's) with its format's version, a 32-bit little-endian number. */
const V8_VERSION_TAG = 0xff;
/** Bun's `node:v8` writes JavaScriptCore's format, which neither it nor V8 translates into the other's. */
const ON_BUN = process.versions.bun !== undefined;

/**
 * Why `bytes` could not be read, when they come from the other family of runtimes: Node and Deno
 * serialize with V8, Bun with JavaScriptCore, and neither reads the other's format. Told at the first
 * value that fails to decode (a task's result, a queue item), on whichever side reads it.
 */
function foreignEncoding(bytes: Uint8Array, cause: unknown): TypeError | undefined {
  const fromV8 = bytes[0] === V8_VERSION_TAG;
  if (fromV8 !== ON_BUN) return undefined;
  const writer = fromV8 ? 'Node or Deno (V8\'s serializer)' : 'Bun (JavaScriptCore\'s serializer)';
  const here = ON_BUN ? 'Bun' : 'Deno' in globalThis ? 'Deno' : 'Node';
  return misuse(
    TypeError,
    'ERR_MP_RUNTIME_MISMATCH',
    `a value from Redis was written by ${writer} and cannot be read on ${here}: multiprocessing/distributed exchanges values ` +
      `in the serializer's format, which Bun and V8 runtimes do not share. Run the driver and the workers on the same family: ` +
      `Node (or Deno) on both (the worker command runs on Node; run a Bun driver with node, or tsx for TypeScript)`,
    { cause },
  );
}

/** An authkey, as `Pool`'s option and `--authkey-file` take it. */
export type Authkey = string | Uint8Array;

/**
 * Checks an authkey option: a non-empty string (UTF-8) or bytes; `undefined` for none.
 * @example `checkAuthkey('s3cret') // <Buffer 73 33 63 72 65 74>`
 */
export function checkAuthkey(authkey: unknown): Buffer | undefined {
  if (authkey === undefined) return undefined;
  if (typeof authkey === 'string' && authkey.length > 0) return Buffer.from(authkey, 'utf8');
  if (authkey instanceof Uint8Array && authkey.length > 0) return Buffer.from(authkey);
  throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `authkey must be a non-empty string or Uint8Array, not ${describeValue(authkey)}`);
}

const UNSIGNED = 0;
const SIGNED = 1;
const MAC_LENGTH = 32;

function mac(key: Buffer, purpose: string, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(purpose).update('\0').update(body).digest();
}

/**
 * A frame around `body`: signed for `purpose` when there is a key.
 * @example `const frame = seal(key, 'task:jobs', encode(envelope, 'task'));`
 */
export function seal(key: Buffer | undefined, purpose: string, body: Uint8Array): Buffer {
  if (key === undefined) return Buffer.concat([Buffer.of(UNSIGNED), body]);
  return Buffer.concat([Buffer.of(SIGNED), mac(key, purpose, body), body]);
}

/**
 * The body of a frame made by `seal` with the same key and purpose; an `AuthenticationError` otherwise
 * (a wrong key, a missing one on either side, or a frame altered on the way). `what` names the frame
 * in the message ("a task", "the result of a task").
 */
export function open(key: Buffer | undefined, purpose: string, frame: Uint8Array, what: string): Uint8Array {
  const kind = frame[0];
  if (kind === UNSIGNED && frame.length >= 1) {
    if (key === undefined) return frame.subarray(1);
    throw new AuthenticationError(`${what} arrived unsigned, but an authkey is set here: give the other side the same authkey (Pool's authkey, the worker's --authkey-file)`);
  }
  if (kind !== SIGNED || frame.length < 1 + MAC_LENGTH) throw new AuthenticationError(`${what} is not a frame of multiprocessing/distributed`);
  if (key === undefined) {
    throw new AuthenticationError(`${what} is signed with an authkey, but none is set here: give this side the same authkey (Pool's authkey, the worker's --authkey-file)`);
  }
  const body = frame.subarray(1 + MAC_LENGTH);
  const expected = mac(key, purpose, body);
  if (!timingSafeEqual(expected, frame.subarray(1, 1 + MAC_LENGTH))) {
    throw new AuthenticationError(`${what} is signed with a different authkey: driver and workers must use the same one`);
  }
  return body;
}
