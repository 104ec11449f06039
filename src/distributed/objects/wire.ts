/**
 * How a distributed shared object crosses machines inside a value (a task's arguments, a queue's item):
 * as a marker `{ '@mp/distributed': kind, state }` holding its name (`named.ts`), replaced before the
 * value is serialized and revived after, as the same class over the same Redis keys.
 *
 * `codec.ts` calls both around `v8.serialize`, so shared objects of one machine (a thread-context
 * `Value`) are still refused there with the fix, while distributed ones pass. The receiving side walks
 * a decoded value only when its bytes contain the marker, so plain data (a chunk of 200,000 numbers)
 * costs one byte search.
 */
import { misuse } from '../../errors.js';
import { canRevive, reduce, revive } from '../../transport/shareable.js';
import { isPlainObject } from '../../transport/payload.js';
import { Named } from './named.js';

const MARK = '@mp/distributed';
const MARK_BYTES = Buffer.from(MARK);

interface Marker {
  readonly [MARK]: string;
  readonly state: unknown;
}

/** @internal `value` with every distributed object in it (in arrays, plain objects, maps, sets) replaced by its marker. */
export function packNamed(value: unknown): unknown {
  return pack(value, new Map());
}

/** @internal The value `packNamed` was given, from what `v8.deserialize` made of its bytes. */
export function unpackNamed(value: unknown, bytes: Uint8Array): unknown {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(MARK_BYTES) ? unpack(value, new Map()) : value;
}

function pack(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Named) {
    const { kind, state } = value[reduce]();
    return { [MARK]: kind, state } satisfies Marker;
  }
  if (seen.has(value)) return seen.get(value);
  seen.set(value, value);
  let changed = false;
  const step = (item: unknown): unknown => {
    const packed = pack(item, seen);
    if (packed !== item) changed = true;
    return packed;
  };
  let copy: unknown;
  if (Array.isArray(value)) copy = value.map(step);
  else if (value instanceof Map) copy = new Map([...value].map(([k, v]) => [step(k), step(v)]));
  else if (value instanceof Set) copy = new Set([...value].map(step));
  else if (isPlainObject(value)) copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, step(v)]));
  else return value;
  const result = changed ? copy : value;
  seen.set(value, result);
  return result;
}

function unpack(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (isPlainObject(value) && typeof value[MARK] === 'string') {
    const marker = value as unknown as Marker;
    const kind = marker[MARK];
    if (!canRevive(kind)) {
      throw misuse(
        TypeError,
        'ERR_MP_UNKNOWN_KIND',
        `a distributed ${kind.replace(/^distributed\./, '')} arrived, but this program has not loaded multiprocessing/distributed's ` +
          `shared objects: import { ${kind.replace(/^distributed\./, '')} } from 'multiprocessing/distributed' in it`,
      );
    }
    const revived = revive({ kind, state: marker.state });
    seen.set(value, revived);
    return revived;
  }
  seen.set(value, value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unpack(value[i], seen);
  } else if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [unpack(k, seen), unpack(v, seen)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
  } else if (value instanceof Set) {
    const items = [...value].map((item) => unpack(item, seen));
    value.clear();
    for (const item of items) value.add(item);
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) (value as Record<string, unknown>)[key] = unpack((value as Record<string, unknown>)[key], seen);
  }
  return value;
}
