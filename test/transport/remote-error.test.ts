// Errors crossing back from workers: serializeThrown in the worker, structured clone (or a
// MessageChannel), deserializeThrown here. Class, name, message, code, own properties, cause chain,
// AggregateError.errors and the worker's stack are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { deserializeThrown, serializeThrown } from '../../src/transport/remote-error.js';
import {
  BrokenBarrierError,
  BufferTooShort,
  Empty,
  ProcessError,
  RemoteError,
  TimeoutError,
  WorkerLostError,
} from '../../src/index.js';

const T = { timeout: 20_000 };

function roundTrip(thrown: unknown): any {
  return deserializeThrown(structuredClone(serializeThrown(thrown)));
}

test('built-in classes keep their class, message and stack', T, () => {
  for (const Class of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
    const original = new Class(`a ${Class.name}`);
    const back = roundTrip(original);
    assert.ok(back instanceof Class, Class.name);
    assert.equal(back.constructor, Class);
    assert.equal(back.name, Class.name);
    assert.equal(back.message, `a ${Class.name}`);
    assert.equal(back.stack, original.stack);
  }
});

test('AggregateError keeps its errors, each rebuilt', T, () => {
  const back = roundTrip(new AggregateError([new TypeError('one'), new RangeError('two'), 'three'], 'several'));
  assert.ok(back instanceof AggregateError);
  assert.equal(back.message, 'several');
  assert.equal(back.errors.length, 3);
  assert.ok(back.errors[0] instanceof TypeError);
  assert.equal(back.errors[0].message, 'one');
  assert.ok(back.errors[1] instanceof RangeError);
  assert.equal(back.errors[2], 'three');
});

test("this library's classes keep their class and code", T, () => {
  const lost = new WorkerLostError('worker died');
  lost.exitCode = 9;
  const back = roundTrip(lost);
  assert.ok(back instanceof WorkerLostError);
  assert.equal(back.code, 'ERR_MP_WORKER_LOST');
  assert.equal(back.name, 'WorkerLostError');
  assert.equal(back.exitCode, 9);
  assert.equal(back.stack, lost.stack);
  const timeout = roundTrip(new TimeoutError('too slow'));
  assert.ok(timeout instanceof TimeoutError && timeout instanceof ProcessError);
  assert.equal(timeout.code, 'ERR_MP_TIMEOUT');
  for (const [Class, code] of [
    [Empty, 'ERR_MP_EMPTY'],
    [BrokenBarrierError, 'ERR_MP_BROKEN_BARRIER'],
  ] as const) {
    const e = roundTrip(new Class('x'));
    assert.ok(e instanceof Class);
    assert.equal(e.code, code);
  }
  const short = roundTrip(new BufferTooShort('too short', new Uint8Array([1, 2])));
  assert.ok(short instanceof BufferTooShort);
  assert.deepEqual(short.args, [new Uint8Array([1, 2])]);
});

test("a user's class keeps name, message, code and own properties", T, () => {
  class HttpError extends Error {
    override name = 'HttpError';
    code = 'E_HTTP';
    constructor(
      message: string,
      readonly status: number,
      readonly details: { url: string; retry: boolean },
    ) {
      super(message);
    }
  }
  const original = new HttpError('not found', 404, { url: '/x', retry: false });
  const back: Error & { code?: string; status?: number; details?: unknown } = roundTrip(original);
  assert.ok(back instanceof Error);
  assert.equal(back.name, 'HttpError');
  assert.equal(back.message, 'not found');
  assert.equal(back.code, 'E_HTTP');
  assert.equal(back.status, 404);
  assert.deepEqual(back.details, { url: '/x', retry: false });
  assert.equal(back.stack, original.stack);
  assert.match(String(back), /^HttpError: not found$/);
});

test('a code on a built-in error (as Node sets it) is kept', T, () => {
  const e = Object.assign(new TypeError('bad arg'), { code: 'ERR_INVALID_ARG_TYPE' });
  const back: TypeError & { code?: string } = roundTrip(e);
  assert.ok(back instanceof TypeError);
  assert.equal(back.code, 'ERR_INVALID_ARG_TYPE');
});

test('the cause chain is kept, errors and values alike', T, () => {
  const root = new RangeError('root');
  const middle = new Error('middle', { cause: root });
  const top = new TypeError('top', { cause: middle });
  const back = roundTrip(top);
  assert.ok(back instanceof TypeError);
  assert.ok(back.cause instanceof Error);
  assert.equal(back.cause.message, 'middle');
  assert.ok(back.cause.cause instanceof RangeError);
  assert.equal(back.cause.cause.message, 'root');
  assert.equal(back.cause.cause.stack, root.stack);
  assert.equal('cause' in back.cause.cause, false);
  const withValue = roundTrip(new Error('outer', { cause: { reason: 'plain', n: 1 } }));
  assert.deepEqual(withValue.cause, { reason: 'plain', n: 1 });
  const undefinedCause = roundTrip(new Error('u', { cause: undefined }));
  assert.equal('cause' in undefinedCause, true);
  assert.equal(undefinedCause.cause, undefined);
});

test('a cyclic cause chain does not loop forever', T, () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const back = roundTrip(a);
  assert.equal(back.message, 'a');
  assert.equal(back.cause.message, 'b');
});

test('uncloneable own properties: a RemoteError with the original name, message and stack', T, () => {
  class WithHandle extends Error {
    override name = 'WithHandle';
    handle = () => 'not cloneable';
    kept = 5;
  }
  const original = new WithHandle('has a handle');
  const back: RemoteError & { kept?: number } = roundTrip(original);
  assert.ok(back instanceof RemoteError);
  assert.equal(back.remoteName, 'WithHandle');
  assert.equal(back.message, 'has a handle');
  assert.equal(back.code, 'ERR_MP_REMOTE');
  assert.equal(back.kept, 5);
  assert.equal(back.stack, original.stack);
  assert.equal('handle' in back, false);
});

test('uncloneable properties of a built-in class: the class is kept, the property dropped', T, () => {
  const e = Object.assign(new TypeError('typed'), { socket: new WeakMap() });
  const back = roundTrip(e);
  assert.ok(back instanceof TypeError);
  assert.equal('socket' in back, false);
});

test('thrown non-errors cross as themselves; an uncloneable one as a RemoteError', T, () => {
  assert.equal(roundTrip('a string'), 'a string');
  assert.equal(roundTrip(42), 42);
  assert.equal(roundTrip(undefined), undefined);
  assert.equal(roundTrip(null), null);
  assert.deepEqual(roundTrip({ code: 'E', list: [1] }), { code: 'E', list: [1] });
  const fn = roundTrip(() => 1);
  assert.ok(fn instanceof RemoteError);
  assert.match(fn.message, /a value that cannot be cloned was thrown/);
});

test('serializeThrown never throws, even on a hostile error', T, () => {
  const hostile = new Error('hostile');
  Object.defineProperty(hostile, 'boom', {
    enumerable: true,
    get() {
      throw new Error('getter');
    },
  });
  assert.doesNotThrow(() => {
    try {
      serializeThrown(hostile);
    } catch (error) {
      // Report as a failure with the reason.
      throw new Error(`serializeThrown threw: ${(error as Error).message}`);
    }
  });
});

test('through a MessageChannel: class, code, properties and cause survive', T, async () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const received = once(port2, 'message');
    const original = Object.assign(new RangeError('out of range', { cause: new WorkerLostError('lost') }), { index: 7 });
    port1.postMessage(serializeThrown(original));
    const [message] = await received;
    const back = deserializeThrown(message) as RangeError & { index: number; cause: WorkerLostError };
    assert.ok(back instanceof RangeError);
    assert.equal(back.index, 7);
    assert.ok(back.cause instanceof WorkerLostError);
    assert.equal(back.cause.code, 'ERR_MP_WORKER_LOST');
    assert.equal(back.stack, original.stack);
  } finally {
    port1.close();
    port2.close();
  }
});

test('from a real worker thread: the worker serializes, this thread rebuilds with the worker\'s stack', T, async () => {
  const moduleUrl = new URL('../../src/transport/remote-error.ts', import.meta.url).href;
  const errorsUrl = new URL('../../src/errors.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    (async () => {
      (await import(${JSON.stringify(tsx)})).register();
      const { serializeThrown } = await import(${JSON.stringify(moduleUrl)});
      const { ShutDown } = await import(${JSON.stringify(errorsUrl)});
      function failInWorker() { throw new ShutDown('queue shut down', { cause: new TypeError('inner') }); }
      try { failInWorker(); } catch (error) { parentPort.postMessage(serializeThrown(error)); }
    })();
    `,
    { eval: true },
  );
  try {
    const [message] = await once(worker, 'message');
    const back = deserializeThrown(message) as Error & { code: string; cause: Error };
    const { ShutDown } = await import('../../src/index.js');
    assert.ok(back instanceof ShutDown);
    assert.equal(back.code, 'ERR_MP_SHUTDOWN');
    assert.match(back.stack ?? '', /failInWorker/);
    assert.ok(back.cause instanceof TypeError);
  } finally {
    await worker.terminate();
  }
});

// ---- values that cannot even be read: serializeThrown is total, they arrive as RemoteErrors ----

function getterThrows(target: object, key: string, reason: unknown = new Error('nope')): void {
  Object.defineProperty(target, key, {
    configurable: true,
    get() {
      throw reason;
    },
  });
}

// serializeThrown must not throw, its result must clone, and what arrives is a RemoteError.
function unreadable(thrown: unknown): RemoteError {
  const back = roundTrip(thrown) as unknown;
  assert.ok(back instanceof RemoteError, `got ${String(back)}`);
  assert.equal(back.code, 'ERR_MP_REMOTE');
  assert.equal(back.name, 'RemoteError');
  return back;
}

test('an error whose message getter throws arrives as a RemoteError naming the message', T, () => {
  const e = new TypeError('hidden');
  getterThrows(e, 'message');
  const back = unreadable(e);
  assert.equal(back.remoteName, 'TypeError');
  assert.equal(back.message, 'a thrown TypeError could not be read: reading its message threw Error: nope');
  assert.match(back.stack ?? '', /^RemoteError: a thrown TypeError could not be read/, 'V8 formats the stack from the message');
  const readable = new Error('the stack was read before the getter broke');
  const { stack } = readable;
  getterThrows(readable, 'message');
  assert.equal(unreadable(readable).stack, stack, 'the worker\'s stack is kept when it can be read');
});

test('an error whose name, stack or cause getter throws arrives as a RemoteError naming that part', T, () => {
  for (const part of ['name', 'stack', 'cause']) {
    const e = new RangeError(`bad ${part}`);
    getterThrows(e, part);
    const back = unreadable(e);
    assert.equal(back.remoteName, 'RangeError');
    assert.equal(back.message, `a thrown RangeError could not be read: reading its ${part} threw Error: nope`);
  }
  class NameThrows extends Error {
    override get name(): string {
      throw new SyntaxError('no name');
    }
  }
  assert.match(unreadable(new NameThrows('x')).message, /^a thrown NameThrows could not be read: reading its name threw SyntaxError: no name$/);
});

test('a revoked Proxy thrown arrives as a RemoteError', T, () => {
  const { proxy, revoke } = Proxy.revocable(new Error('behind a proxy'), {});
  revoke();
  const back = unreadable(proxy);
  assert.equal(back.remoteName, 'object');
  assert.match(back.message, /^a thrown object could not be read: reading its prototype threw TypeError: .*revoked/);
});

test('a Proxy whose traps throw arrives as a RemoteError', T, () => {
  const traps = ['getPrototypeOf', 'ownKeys', 'get', 'has'] as const;
  for (const trap of traps) {
    const proxy = new Proxy(new Error('trapped'), {
      [trap]() {
        throw new Error(`${trap} trap`);
      },
    });
    const back = unreadable(proxy);
    assert.match(back.message, new RegExp(`threw Error: ${trap} trap$`), trap);
  }
});

test('a weird constructor chain: a throwing constructor getter, a non-string name, an AggregateError whose errors throw', T, () => {
  const badCtor = new Error('bad constructor');
  Object.setPrototypeOf(badCtor, Object.create(Error.prototype, {
    constructor: {
      get() {
        throw new Error('no constructor');
      },
    },
  }));
  assert.equal(unreadable(badCtor).message, 'a thrown object could not be read: reading its class threw Error: no constructor');
  // A constructor whose name is not a string is skipped, as before: the next one up names the class.
  const symbolName = new Error('symbol-named');
  const Weird = function () {} as unknown as { name: unknown; prototype: object };
  Object.defineProperty(Weird, 'name', { value: Symbol('weird') });
  Object.setPrototypeOf(symbolName, Object.create(Error.prototype, { constructor: { value: Weird } }));
  const named = roundTrip(symbolName);
  assert.ok(named instanceof Error);
  assert.equal(named.message, 'symbol-named');
  const aggregate = new AggregateError([new Error('one')], 'several');
  getterThrows(aggregate, 'errors');
  assert.equal(unreadable(aggregate).message, 'a thrown AggregateError could not be read: reading its errors threw Error: nope');
});

test('the reason itself may be hostile: a getter that throws a revoked Proxy', T, () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const e = new Error('x');
  getterThrows(e, 'message', proxy);
  assert.equal(unreadable(e).message, 'a thrown Error could not be read: reading its message threw [object]');
});

test('a thrown non-error that cannot be cloned nor turned into a string', T, () => {
  const hostile = {
    fn() {},
    toString() {
      throw new Error('no string');
    },
  };
  const back = unreadable(hostile);
  assert.equal(back.message, 'a value that cannot be cloned was thrown: [object Object]');
});
