/**
 * Errors crossing back from workers. Structured clone keeps only `name`/`message` of a few built-in
 * classes; this keeps the class (built-ins and this library's), `name`, `message`, `code`, own
 * properties, the `cause` chain, `AggregateError.errors` and the worker's stack. An error class of the
 * program's is kept too, where the sender can locate it (`class-locate.ts`, as pickle names a class by
 * module and name): the sender passes `serializeThrown` a way to locate it, and the receiver's
 * `deserializeThrown` is given a way to adopt it (`unpack.ts`: `unpackThrown`, and errors inside values).
 *
 * What cannot be rebuilt as itself (an unknown class whose properties cannot be cloned, say) arrives
 * as a `RemoteError` with the original class name, message and stack. A thrown non-error value crosses
 * as itself when it can be cloned. A value that cannot even be read (a `message` getter that throws, a
 * revoked Proxy) arrives as a `RemoteError` too: serializing a throw must never fail, since the worker
 * that does it has nothing left to report with.
 */
import { errorClasses, RemoteError } from '../errors.js';
import { cleanStack, locateShippedFrames } from './stack-frames.js';
import type { WireFunction } from './wire-function.js';

const builtIns: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** A thrown value in a form that structured clone carries whole. */
export type SerializedThrow =
  | {
      readonly type: 'error';
      readonly className: string;
      readonly name: string;
      readonly message: string;
      readonly stack: string | undefined;
      readonly props: Record<string, unknown>;
      readonly cause?: SerializedThrow;
      readonly errors?: SerializedThrow[];
      /** Own properties that could not be cloned, by name. */
      readonly dropped: string[];
      /** Its class, when it is the program's own and could be located (`class-locate.ts`). */
      readonly wire?: WireFunction;
    }
  | { readonly type: 'value'; readonly value: unknown };

// Prototype chains longer than this are not walked: a Proxy can make an endless one.
const MAX_PROTOTYPES = 64;

function className(error: Error): string {
  let proto = Object.getPrototypeOf(error) as object | null;
  for (let i = 0; proto !== null && i < MAX_PROTOTYPES; i++, proto = Object.getPrototypeOf(proto) as object | null) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string' && ctor.name !== '') return ctor.name;
  }
  return 'Error';
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

const skipped = new Set(['stack', 'message', 'cause', 'errors']);

/** A part of a thrown value that could not be read (a getter or a Proxy trap threw, or a Proxy was revoked). */
class Unreadable {
  constructor(
    readonly part: string,
    readonly reason: unknown,
  ) {}
}

function read<T>(part: string, get: () => T): T {
  try {
    return get();
  } catch (reason) {
    throw new Unreadable(part, reason);
  }
}

/** How the class of an error crosses, if it is the program's own (`pack.ts`: `errorClassWire`). */
export type LocateErrorClass = (error: Error) => WireFunction | undefined;

/**
 * Serializes anything thrown, in the worker. Never throws: a value whose class, `name`, `message`,
 * `stack`, `cause` or own properties cannot even be listed (a hostile getter, a revoked Proxy) arrives
 * as a `RemoteError` saying which part could not be read and why. With `locateClass`, an error of a class
 * of the program's carries that class (without, it arrives as its closest built-in class).
 */
export function serializeThrown(thrown: unknown, locateClass?: LocateErrorClass, depth = 0): SerializedThrow {
  try {
    return serialize(thrown, locateClass, depth);
  } catch (failure) {
    const { part, reason } = failure instanceof Unreadable ? failure : new Unreadable('value', failure);
    return unreadable(thrown, part, reason);
  }
}

// Its class's wire, or undefined when it cannot be located (a hostile prototype, say): never throws.
function classWire(error: Error, locateClass: LocateErrorClass | undefined): WireFunction | undefined {
  if (locateClass === undefined) return undefined;
  try {
    return locateClass(error);
  } catch {
    return undefined;
  }
}

function serialize(thrown: unknown, locateClass: LocateErrorClass | undefined, depth: number): SerializedThrow {
  if (!read('prototype', () => thrown instanceof Error)) {
    if (cloneable(thrown)) return { type: 'value', value: thrown };
    return serializeThrown(new RemoteError(`a value that cannot be cloned was thrown: ${safeString(thrown)}`), undefined, depth);
  }
  const error = thrown as Error;
  const props: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const key of read('own properties', () => Object.keys(error))) {
    if (skipped.has(key)) continue;
    let value: unknown;
    try {
      value = (error as unknown as Record<string, unknown>)[key];
    } catch {
      dropped.push(key); // a getter that throws: the property cannot be read, so it cannot cross
      continue;
    }
    if (cloneable(value)) props[key] = value;
    else dropped.push(key);
  }
  // `code` is often an own property, but may be a getter on the prototype (our classes use fields).
  if (!('code' in props) && !dropped.includes('code')) {
    let code: unknown;
    try {
      code = (error as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (code !== undefined && cloneable(code)) props.code = code;
  }
  const name = read('name', () => String(error.name));
  const message = read('message', () => String(error.message));
  // After name and message: V8 formats the stack from them on its first read.
  const stack = read('stack', () => error.stack);
  const result: {
    type: 'error';
    className: string;
    name: string;
    message: string;
    stack: string | undefined;
    props: Record<string, unknown>;
    dropped: string[];
    cause?: SerializedThrow;
    errors?: SerializedThrow[];
    wire?: WireFunction;
  } = {
    type: 'error',
    className: read('class', () => className(error)),
    name,
    message,
    stack: typeof stack === 'string' ? cleanStack(stack) : undefined,
    props,
    dropped,
  };
  const wire = classWire(error, locateClass);
  if (wire !== undefined) result.wire = wire;
  if (depth < 32 && read('cause', () => 'cause' in error)) {
    result.cause = serializeThrown(read('cause', () => error.cause), locateClass, depth + 1);
  }
  if (read('class', () => error instanceof AggregateError)) {
    const errors = read('errors', () => {
      const list: unknown = (error as AggregateError).errors;
      return Array.isArray(list) ? [...(list as unknown[])] : undefined;
    });
    if (errors !== undefined) result.errors = errors.map((e) => serializeThrown(e, locateClass, depth + 1));
  }
  return result;
}

// What crosses for a thrown value that cannot be read: a RemoteError that names the part and the reason,
// with the original's class name and stack where those at least can be read.
function unreadable(thrown: unknown, part: string, reason: unknown): SerializedThrow {
  const remoteName = attempt(() => (thrown instanceof Error ? className(thrown) : typeof thrown), typeof thrown);
  const stack = attempt(() => {
    const value = thrown instanceof Error ? thrown.stack : undefined;
    return typeof value === 'string' ? cleanStack(value) : undefined;
  }, undefined);
  return {
    type: 'error',
    className: 'RemoteError',
    name: 'RemoteError',
    message: `a thrown ${remoteName} could not be read: reading its ${part} threw ${safeString(reason)}`,
    stack,
    props: { remoteName },
    dropped: [],
  };
}

function attempt<T>(get: () => T, fallback: T): T {
  try {
    return get();
  } catch {
    return fallback;
  }
}

/** `String(value)`, but never throws (a hostile `toString`, a revoked Proxy): then a description of its type. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}

/**
 * Gives a rebuilt error the class of the program's that `wire` names (`unpack.ts`: at once, or once
 * its module is loaded).
 */
export type AdoptClass = (error: Error, wire: WireFunction) => void;

/**
 * Rebuilds a thrown value, in the parent. With `adoptClass`, an error that carries its class (see
 * `serializeThrown`) is given it; without, or where it cannot be had, it is rebuilt as today.
 */
export function deserializeThrown(serialized: SerializedThrow, adoptClass?: AdoptClass): unknown {
  if (serialized.type === 'value') return serialized.value;
  // A class of the program's is adopted below: its name may be a built-in's or ours, but not its class.
  const adopted = serialized.wire !== undefined && adoptClass !== undefined && serialized.dropped.length === 0;
  const OurClass = adopted ? undefined : (errorClasses as Record<string, new (message: string) => Error>)[serialized.className];
  const BuiltIn = adopted ? undefined : builtIns[serialized.className];
  let error: Error;
  if (serialized.className === 'AggregateError' || serialized.errors !== undefined) {
    error = new AggregateError((serialized.errors ?? []).map((e) => deserializeThrown(e, adoptClass)), serialized.message);
  } else if (OurClass !== undefined || BuiltIn !== undefined) {
    error = new (OurClass ?? BuiltIn!)(serialized.message);
  } else if (serialized.dropped.length > 0) {
    const remote = new RemoteError(serialized.message);
    remote.remoteName = serialized.name;
    error = remote;
  } else {
    // A class of the user's: rebuilt as an Error with its name, so `name`, `code` and properties match.
    error = new Error(serialized.message);
  }
  for (const [key, value] of Object.entries(serialized.props)) {
    if (key === 'name') continue;
    try {
      Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: true });
    } catch {
      // A read-only property of the rebuilt class: keep the class's own value.
    }
  }
  if (!(error instanceof RemoteError) || serialized.className === 'RemoteError') {
    Object.defineProperty(error, 'name', { value: serialized.name, writable: true, configurable: true, enumerable: false });
  }
  if (serialized.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: locateShippedFrames(serialized.stack), writable: true, configurable: true, enumerable: false });
  }
  if (adopted) adoptClass(error, serialized.wire!);
  if (serialized.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: deserializeThrown(serialized.cause, adoptClass),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return error;
}
