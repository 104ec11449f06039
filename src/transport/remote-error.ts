/**
 * Errors crossing back from workers. Structured clone keeps only `name`/`message` of a few built-in
 * classes; this keeps the class (built-ins and this library's), `name`, `message`, `code`, own
 * properties, the `cause` chain, `AggregateError.errors` and the worker's stack.
 *
 * What cannot be rebuilt as itself (an unknown class whose properties cannot be cloned, say) arrives
 * as a `RemoteError` with the original class name, message and stack. A thrown non-error value crosses
 * as itself when it can be cloned.
 */
import { errorClasses, RemoteError } from '../errors.js';
import { cleanStack, locateShippedFrames } from './stack-frames.js';

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
    }
  | { readonly type: 'value'; readonly value: unknown };

function className(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
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

/** Serializes anything thrown, in the worker. Never throws. */
export function serializeThrown(thrown: unknown, depth = 0): SerializedThrow {
  if (!(thrown instanceof Error)) {
    if (cloneable(thrown)) return { type: 'value', value: thrown };
    return serializeThrown(new RemoteError(`a value that cannot be cloned was thrown: ${safeString(thrown)}`), depth);
  }
  const props: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const key of Object.keys(thrown)) {
    if (skipped.has(key)) continue;
    let value: unknown;
    try {
      value = (thrown as unknown as Record<string, unknown>)[key];
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
      code = (thrown as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (code !== undefined && cloneable(code)) props.code = code;
  }
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
  } = {
    type: 'error',
    className: className(thrown),
    name: String(thrown.name),
    message: String(thrown.message),
    stack: typeof thrown.stack === 'string' ? cleanStack(thrown.stack) : undefined,
    props,
    dropped,
  };
  if ('cause' in thrown && depth < 32) result.cause = serializeThrown(thrown.cause, depth + 1);
  if (thrown instanceof AggregateError && Array.isArray(thrown.errors)) {
    result.errors = thrown.errors.map((e: unknown) => serializeThrown(e, depth + 1));
  }
  return result;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Rebuilds a thrown value, in the parent. */
export function deserializeThrown(serialized: SerializedThrow): unknown {
  if (serialized.type === 'value') return serialized.value;
  const OurClass = (errorClasses as Record<string, new (message: string) => Error>)[serialized.className];
  const BuiltIn = builtIns[serialized.className];
  let error: Error;
  if (serialized.className === 'AggregateError') {
    error = new AggregateError((serialized.errors ?? []).map(deserializeThrown), serialized.message);
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
  if (serialized.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: deserializeThrown(serialized.cause),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return error;
}
