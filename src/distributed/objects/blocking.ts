/**
 * The blocking forms of the distributed objects (`lock.acquire()`, `queue.get()`, `value.value`): a
 * synchronous call that needs a round trip to Redis.
 *
 * A thread cannot block and read a socket at once, so each thread that makes such a call gets one
 * helper thread (started on its first blocking call, then reused; it does not keep the program alive).
 * The caller posts the call to it (the object, reduced to its name, and a method of the object's async
 * form) and sleeps on a shared word; the helper runs the async form on its own connections, writes the
 * `v8`-serialized outcome into a shared buffer, and wakes the caller. This is what `synckit` does; we
 * use the library's own thread start-up and futex instead of a dependency, so the helper runs under
 * tsx and from the built bundle as every other thread of the library does.
 *
 * An error thrown by the async form is rethrown here with its class and `code` (`remote-error`).
 *
 * Leases while blocked: a lock held by this thread is renewed by a timer of this thread's event loop,
 * which does not run while the thread is blocked here. So each call also carries the renewals this
 * thread has registered (`renewWhileBlocked`), and the helper runs them on its own timer until the call
 * returns: a thread blocked in `queue.get()` for an hour keeps the lock it holds.
 */
import { deserialize, serialize } from 'node:v8';
import { misuse } from '../../errors.js';
import { defineRole, type ChildHandle, type ChildPort } from '../../runtime/child.js';
import { spawnChild } from '../../runtime/spawn.js';
import { currentProcess, nextChild } from '../../runtime/identity.js';
import { notify, wait } from '../../runtime/futex.js';
import { perThread } from '../../runtime/thread-state.js';
import { allocateShared } from '../../runtime/shared-memory.js';
import { canRevive, kindsToLoad, reduce, revive, type KindModule, type Reduced, type Shareable } from '../../transport/shareable.js';
import { importModule } from '../../runtime/import-module.js';
import { deserializeThrown, serializeThrown, type SerializedThrow } from '../../transport/remote-error.js';

const READY = 0;
const LENGTH = 1;
const STARTED = 2;
// A helper thread that has not started serving within this time never will (its start-up failed and
// it exited; the blocked caller cannot see the exit event, which its own event loop would deliver).
const START_TIMEOUT = 30_000;
const INITIAL_BYTES = 64 * 1024;
const MAX_BYTES = 1024 * 1024 * 1024;

interface Payload {
  /** [READY: 1 once an outcome is written, LENGTH: its byte length, STARTED: 1 once the helper serves]. */
  readonly words: SharedArrayBuffer;
  /** The outcome's bytes; the helper grows it when one does not fit. */
  readonly bytes: SharedArrayBuffer;
}

/** A method of a shared object to call: `target[method](...args)`, after loading `kinds`. */
interface Invocation {
  readonly target: Reduced;
  /** The module that registers the target's kind, which the helper imports before its first call. */
  readonly kinds: readonly KindModule[];
  readonly method: string;
  readonly args: readonly unknown[];
}

interface Call extends Invocation {
  /** Renewals to run every `renewEvery` ms while the call runs. */
  readonly renewals: readonly Invocation[];
  readonly renewEvery: number;
}

/** @internal A lease renewal to run while this thread is blocked: `target[method](...args)` every `every` ms. */
export interface Renewal {
  readonly target: Shareable;
  readonly method: string;
  readonly args: readonly unknown[];
  readonly every: number;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: SerializedThrow };

interface Helper {
  readonly child: ChildHandle;
  readonly words: Int32Array;
  readonly bytes: SharedArrayBuffer;
}

const helperOfThread = perThread<{ helper?: Helper }>('distributedBlockingHelper', () => ({}));
const renewalsOfThread = perThread('distributedRenewals', () => new Map<object, () => Renewal>());

/**
 * @internal While `owner` holds a lease, the renewal that `renewal()` describes also runs during this
 * thread's blocking calls (see the module notes). `undefined` removes it.
 */
export function renewWhileBlocked(owner: object, renewal: (() => Renewal) | undefined): void {
  if (renewal === undefined) renewalsOfThread().delete(owner);
  else renewalsOfThread().set(owner, renewal);
}

function invocation(target: Shareable, method: string, args: readonly unknown[]): Invocation {
  const reduced = target[reduce]();
  return { target: reduced, kinds: kindsToLoad(reduced.kind), method, args };
}

/**
 * @internal Calls `target[method](...args)` (an async method) in this thread's helper and blocks until it
 * settles; returns its value or throws its error.
 */
export function callBlocking<T>(target: Shareable, method: string, args: readonly unknown[]): T {
  const helper = (helperOfThread().helper ??= startHelper());
  if (Atomics.load(helper.words, STARTED) === 0 && wait(helper.words, STARTED, 0, START_TIMEOUT) === 'timed-out') {
    helperOfThread().helper = undefined;
    void helper.child.terminate();
    throw misuse(
      Error,
      'ERR_MP_INTERNAL',
      `the helper thread of the blocking forms of multiprocessing/distributed did not start within ${START_TIMEOUT / 1000} s ` +
        `(its start-up error, if any, is on stderr); the async forms (acquireAsync, getAsync…) do not need it`,
    );
  }
  Atomics.store(helper.words, READY, 0);
  const renewals = [...renewalsOfThread().values()].map((describe) => describe());
  helper.child.postMessage({
    ...invocation(target, method, args),
    renewals: renewals.map((r) => invocation(r.target, r.method, r.args)),
    renewEvery: Math.min(...renewals.map((r) => r.every)),
  } satisfies Call);
  while (Atomics.load(helper.words, READY) === 0) wait(helper.words, READY, 0);
  const length = Atomics.load(helper.words, LENGTH);
  const outcome = deserialize(new Uint8Array(helper.bytes, 0, length).slice()) as Outcome;
  if (outcome.ok) return outcome.value as T;
  throw deserializeThrown(outcome.error);
}

function startHelper(): Helper {
  const payload: Payload = {
    words: allocateShared(12, { startMethod: 'thread' }),
    bytes: allocateShared(INITIAL_BYTES, { maxByteLength: MAX_BYTES, startMethod: 'thread' }),
  };
  const { path, defaultName } = nextChild('RedisWaiter');
  const child = spawnChild(
    'thread',
    {
      role: blockingRole,
      identity: { self: { name: defaultName, pid: process.pid, ident: 0, daemon: true }, path, parent: currentProcess() },
      payload,
    },
    { name: defaultName, payloadLabel: 'payload', payloadForErrors: payload },
  );
  child.unref();
  return { child, words: new Int32Array(payload.words), bytes: payload.bytes };
}

// Helper side: one call at a time (the caller is blocked until it is answered).
async function serve(payload: Payload, port: ChildPort): Promise<void> {
  const words = new Int32Array(payload.words);
  const objects = new Map<string, Record<string, (...args: unknown[]) => Promise<unknown>>>();
  const run = async ({ target: reduced, kinds, method, args }: Invocation): Promise<unknown> => {
    const id = JSON.stringify(reduced, (_, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
    let target = objects.get(id);
    if (target === undefined) {
      for (const [kind, url] of kinds) if (!canRevive(kind)) await importModule(url);
      target = revive(reduced) as Record<string, (...args: unknown[]) => Promise<unknown>>;
      objects.set(id, target);
    }
    return target[method]!(...args);
  };
  port.onMessage((call: Call) => {
    // A renewal that fails is the holder's to find out: its own next renewal sees the lease gone.
    const renewing =
      call.renewals.length === 0 ? undefined : setInterval(() => call.renewals.forEach((r) => void run(r).catch(() => {})), call.renewEvery);
    void (async (): Promise<Outcome> => {
      try {
        return { ok: true, value: await run(call) };
      } catch (error) {
        return { ok: false, error: serializeThrown(error) };
      } finally {
        clearInterval(renewing);
      }
    })().then((outcome) => {
      let bytes = encodeOutcome(outcome);
      try {
        if (bytes.byteLength > payload.bytes.byteLength) payload.bytes.grow(bytes.byteLength);
      } catch (error) {
        // Past MAX_BYTES: the caller gets the error instead of the value (it must be answered, always).
        bytes = encodeOutcome({ ok: false, error: serializeThrown(error) });
      }
      new Uint8Array(payload.bytes).set(bytes);
      Atomics.store(words, LENGTH, bytes.byteLength);
      Atomics.store(words, READY, 1);
      notify(words, READY);
    });
  });
  Atomics.store(words, STARTED, 1);
  notify(words, STARTED);
  // The role never ends by itself: the thread lives as long as its caller's thread.
  await new Promise<never>(() => {});
}

function encodeOutcome(outcome: Outcome): Uint8Array {
  try {
    return serialize(outcome);
  } catch (error) {
    return serialize({ ok: false, error: serializeThrown(error) } satisfies Outcome);
  }
}

const blockingRole = defineRole('distributed-blocking', serve, import.meta.url);
