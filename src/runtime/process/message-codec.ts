/**
 * How a message crosses the IPC channel of a `'process'` child: V8's serializer (the structured clone
 * `postMessage` uses between threads: Map, Set, typed arrays, errors, cycles), written by us to bytes
 * that Node's IPC then carries as one `Uint8Array`, so that `SharedArrayBuffer`s go through our one
 * seam (`shared-buffer-codec.ts`) instead of Node's serializer, which cannot carry them.
 *
 * Why two passes when shared memory is in a message: the serializer's `_getSharedArrayBufferId` hook
 * sees every `SharedArrayBuffer` (the codec reduces each, or throws `ERR_MP_NATIVE_UNAVAILABLE`), but Node 20's
 * deserializer cannot take a `SharedArrayBuffer` back for an id (`transferArrayBuffer` fails with
 * "Unable to deserialize cloned data"). So a message that holds any is written again with each buffer,
 * alone or under a typed array, replaced by a marker naming its ref, and the receiver revives the
 * markers. Messages without shared memory, nearly all of them, cost one serialization and no walk.
 *
 * Bun (1.4) has no `v8.Serializer` class (constructing one throws `ERR_NOT_IMPLEMENTED`), but has
 * `v8.serialize`/`v8.deserialize`: JavaScriptCore's structured clone, the same value kinds, with no hook
 * (a `SharedArrayBuffer` comes out as a copy in an `ArrayBuffer`). There every message is walked once
 * (the marking walk) and written by `v8.serialize`; whether the hook exists is decided once, at load,
 * so Node keeps its one-pass path. Measured on Bun: ~3 µs to write and read a small task message, 0.5
 * ms for 1,000 small records; a walk costs less than either. Shared memory the walk cannot reach (inside a
 * class instance or an error) would arrive as a silent copy there, so the walk refuses it instead, as
 * Node's second pass does.
 *
 * A moved `ArrayBuffer` (a task's `transfer` list) is copied into the bytes and then detached here, so
 * the sender sees it moved, as between threads. A `MessagePort` cannot leave its process.
 *
 * @example
 * ```ts
 * child.send(encodeMessage({ type: 'run', tasks }));   // parent
 * const message = decodeMessage(received);            // child
 * ```
 */
import v8 from 'node:v8';
import { misuse } from '../../errors.js';
import { VIEWS, isPlainObject } from '../../transport/payload.js';
import type { Movable } from '../child.js';
import { sharedBufferCodec, type SegmentRef } from './shared-buffer-codec.js';

/** A message on the wire: its bytes, with the refs of the shared memory it names if it names any. */
export type WireMessage = Uint8Array | readonly [body: Uint8Array, refs: readonly SegmentRef[]];

const SHARED_BUFFER = '@@multiprocessing/segment';

interface SharedBufferMarker {
  readonly [SHARED_BUFFER]: number;
  /** The typed array (or `DataView`) over the buffer, if it was one. */
  readonly view: string | null;
  readonly byteOffset: number;
  readonly length: number;
}

/** The shared buffers a message names, each reduced once, in the order met. */
interface SharedRefs {
  readonly refs: SegmentRef[];
  readonly ids: Map<SharedArrayBuffer, number>;
}

class MessageSerializer extends v8.Serializer implements SharedRefs {
  readonly refs: SegmentRef[] = [];
  readonly ids = new Map<SharedArrayBuffer, number>();

  _getSharedArrayBufferId(buffer: SharedArrayBuffer): number {
    return idOf(this, buffer);
  }
}

// Bun's `v8.Serializer` is a function whose constructor throws: checked once.
const HAS_SERIALIZER = ((): boolean => {
  try {
    new v8.Serializer();
    return true;
  } catch {
    return false;
  }
})();

function idOf(serializer: SharedRefs, buffer: SharedArrayBuffer): number {
  let id = serializer.ids.get(buffer);
  if (id === undefined) {
    id = serializer.refs.length;
    serializer.refs.push(sharedBufferCodec().reduce(buffer));
    serializer.ids.set(buffer, id);
  }
  return id;
}

/** Numbers the shared buffers a walk meets (`mark`), each once, in the order met. */
type BufferIds = (buffer: SharedArrayBuffer) => number;

// The second pass: every buffer was replaced by a marker, so meeting one means the walk missed it.
class MarkedSerializer extends v8.Serializer {
  _getSharedArrayBufferId(): number {
    throw sharedOutOfReach();
  }
}

function sharedOutOfReach(): TypeError {
  return misuse(
    TypeError,
    'ERR_MP_UNCLONEABLE',
    'shared memory can cross into a process child only inside arrays, plain objects, Maps and Sets (or as a shared object)',
  );
}

// V8's serializer throws a plain Error where `postMessage` throws a `DataCloneError`: callers (spawn.ts,
// the scheduler) recognise the latter, and turn it into an error that names the uncloneable part.
function serialize(serializer: v8.Serializer, value: unknown): Uint8Array {
  serializer.writeHeader();
  try {
    serializer.writeValue(value);
  } catch (error) {
    if (error instanceof Error && error.name === 'Error' && / could not be cloned\.$/.test(error.message)) error.name = 'DataCloneError';
    throw error;
  }
  return serializer.releaseBuffer();
}

/** `message` as bytes for the IPC channel; detaches the `ArrayBuffer`s of `transfer` (moved, not shared). */
export function encodeMessage(message: unknown, transfer?: readonly Movable[]): WireMessage {
  if (transfer !== undefined) checkMovable(transfer);
  let wire: WireMessage;
  if (HAS_SERIALIZER) {
    const first = new MessageSerializer();
    wire = serialize(first, message);
    if (first.refs.length > 0) wire = [serialize(new MarkedSerializer(), mark(message, (buffer) => idOf(first, buffer), new Map())), first.refs];
  } else {
    const found: SharedRefs = { refs: [], ids: new Map() };
    const body = v8.serialize(mark(message, (buffer) => idOf(found, buffer), new Map(), true));
    wire = found.refs.length > 0 ? [body, found.refs] : body;
  }
  if (transfer !== undefined) for (const buffer of transfer) detach(buffer as ArrayBuffer);
  return wire;
}

/**
 * A structured clone of `value` that keeps its `SharedArrayBuffer`s: the very objects, where
 * `structuredClone` makes new ones over the same memory. Identity is what a buffer is known by (the
 * segments registry, the revivers' caches), so a copy of a process-shared buffer could no longer be sent
 * to a process child. For a snapshot taken now and sent later (the constants a function takes along).
 *
 * @example
 * ```ts
 * const snapshot = cloneKeepingSharedBuffers({ n: 1, words: value.words });
 * snapshot.words.buffer === value.words.buffer; // true
 * ```
 */
export function cloneKeepingSharedBuffers<T>(value: T): T {
  const buffers: SharedArrayBuffer[] = [];
  const ids = new Map<SharedArrayBuffer, number>();
  const marked = mark(value, (buffer) => {
    let id = ids.get(buffer);
    if (id === undefined) ids.set(buffer, (id = buffers.push(buffer) - 1));
    return id;
  }, new Map());
  return (buffers.length === 0 ? structuredClone(value) : unmark(structuredClone(marked), buffers, new Set())) as T;
}

/** The message `encodeMessage` wrote, with its shared memory revived over the same segments. */
export function decodeMessage(wire: WireMessage): unknown {
  if (wire instanceof Uint8Array) return deserialize(wire);
  const [body, refs] = wire;
  const codec = sharedBufferCodec();
  const buffers = refs.map((ref) => codec.revive(ref));
  return unmark(deserialize(body), buffers, new Set());
}

function deserialize(bytes: Uint8Array): unknown {
  if (!HAS_SERIALIZER) return v8.deserialize(bytes);
  const deserializer = new v8.Deserializer(bytes);
  deserializer.readHeader();
  return deserializer.readValue();
}

function checkMovable(transfer: readonly Movable[]): void {
  for (const item of transfer) {
    if (!(item instanceof ArrayBuffer)) {
      throw misuse(
        TypeError,
        'ERR_MP_INVALID_ARG',
        "a MessagePort cannot move into another OS process: under the 'process' start method transfer only ArrayBuffers, " +
          "or use getContext('thread')",
      );
    }
  }
}

function detach(buffer: ArrayBuffer): void {
  try {
    structuredClone(buffer, { transfer: [buffer] });
  } catch {
    // detached already (listed twice): moved all the same
  }
}

// Copies the containers on the way to shared memory; shares everything else with `value`. `strict` (no
// serializer hook behind the walk): shared memory inside any other object is refused here.
function mark(value: unknown, bufferId: BufferIds, seen: Map<object, unknown>, strict = false): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (value instanceof SharedArrayBuffer) return marker(bufferId, value, null, 0, value.byteLength);
  if (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer) {
    const length = value instanceof DataView ? value.byteLength : (value as unknown as { length: number }).length;
    return marker(bufferId, value.buffer, viewName(value), value.byteOffset, length);
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) copy[i] = mark(value[i], bufferId, seen, strict);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(mark(k, bufferId, seen, strict), mark(v, bufferId, seen, strict));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set<unknown>();
    seen.set(value, copy);
    for (const v of value) copy.add(mark(v, bufferId, seen, strict));
    return copy;
  }
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
    seen.set(value, copy);
    for (const key of Object.keys(value)) {
      const marked = mark(value[key], bufferId, seen, strict);
      // An own `__proto__` key (JSON.parse makes one) stays a key: assigning it would set the prototype.
      if (key === '__proto__') Object.defineProperty(copy, key, { value: marked, writable: true, enumerable: true, configurable: true });
      else copy[key] = marked;
    }
    return copy;
  }
  if (strict && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) refuseSharedWithin(value, new Set());
  return value;
}

// What the structured clone writes of an object the walk does not copy: its own properties, an error's
// `cause`. A SharedArrayBuffer there is refused with the error Node's second pass throws.
function refuseSharedWithin(value: object, seen: Set<object>): void {
  if (seen.has(value)) return;
  seen.add(value);
  if (value instanceof SharedArrayBuffer || (ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer)) {
    throw sharedOutOfReach();
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  const inner = value instanceof Map ? [...value].flat() : value instanceof Set ? [...value] : Object.values(value);
  if (value instanceof Error && 'cause' in value) inner.push(value.cause);
  for (const v of inner) if (typeof v === 'object' && v !== null) refuseSharedWithin(v, seen);
}

function marker(bufferId: BufferIds, buffer: SharedArrayBuffer, view: string | null, byteOffset: number, length: number): SharedBufferMarker {
  return { [SHARED_BUFFER]: bufferId(buffer), view, byteOffset, length };
}

// A subclass (Node's Buffer) travels as the built-in view it extends.
function viewName(view: ArrayBufferView): string {
  for (let proto: unknown = Object.getPrototypeOf(view); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name !== undefined && name in VIEWS) return name;
  }
  return 'Uint8Array';
}

function isMarker(value: object): value is SharedBufferMarker {
  return SHARED_BUFFER in value && typeof (value as Record<string, unknown>)[SHARED_BUFFER] === 'number';
}

// The deserialized message is ours alone: markers are replaced in place.
function unmark(value: unknown, buffers: readonly SharedArrayBuffer[], seen: Set<object>): unknown {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unmark(value[i], buffers, seen);
  } else if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [unmark(k, buffers, seen), unmark(v, buffers, seen)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
  } else if (value instanceof Set) {
    const elements = [...value].map((v) => unmark(v, buffers, seen));
    value.clear();
    for (const v of elements) value.add(v);
  } else if (isPlainObject(value)) {
    if (isMarker(value)) return revived(value, buffers);
    for (const key of Object.keys(value)) value[key] = unmark(value[key], buffers, seen);
  }
  return value;
}

function revived(marker: SharedBufferMarker, buffers: readonly SharedArrayBuffer[]): unknown {
  const buffer = buffers[marker[SHARED_BUFFER]]!;
  if (marker.view === null) return buffer;
  const View = VIEWS[marker.view];
  if (View === undefined) throw misuse(TypeError, 'ERR_MP_INTERNAL', `internal error: no view named ${marker.view} over shared memory`);
  return new View(buffer, marker.byteOffset, marker.length);
}
