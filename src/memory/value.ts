/**
 * `Value` and `RawValue`: one typed scalar in a `SharedArrayBuffer`, seen by every worker.
 *
 * Reading or writing `.value` is one aligned memory access, so it never tears; what is not atomic is a
 * read followed by a write (`v.value += 1`), exactly as in Python: hold `getLock()` for that. Unlike
 * Python's `Synchronized`, `.value` does not take the lock on each access (it would change nothing a
 * program can observe, and cost three lock operations per `+=`).
 */
import { misuse } from '../errors.js';
import { allocateShared } from '../runtime/shared-memory.js';
import type { WaitArg } from '../sync/futex.js';
import { registerShareable, reduce, revive, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { Lock } from '../sync/lock.js';
import { RLock } from '../sync/rlock.js';
import { fromStored, toStored, typeInfo, type TypeCode, type TypeInfo, type ValueOf, type InitialOf, type AnyTypedArray, viewOf } from './typecodes.js';

/** The `lock` option of `Value` and `Array`: `true` for a new `RLock`, `false` for none, or a given lock. */
export type LockOption = boolean | Lock | RLock;

/** Options of `new Value(typecode, initial, options)`. */
export interface ValueOptions {
  /** `true` (default): a new `RLock`; `false`: no lock (`getLock()` throws); or a `Lock`/`RLock` to use. */
  lock?: LockOption;
}

interface ValueState {
  readonly typecode: TypeCode;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly lock: Reduced | null;
}

type Stored = AnyTypedArray;

const reviving = new ReviveSlot<ValueState>();

/**
 * One shared scalar without a lock (Python's `multiprocessing.RawValue`).
 *
 * @example
 * ```ts
 * const flag = new RawValue('?', false);
 * flag.value = true;   // seen by every worker that got `flag`
 * ```
 */
export class RawValue<T extends TypeCode = TypeCode> implements Shareable {
  /** The typecode given to the constructor. */
  readonly typecode: T;
  /** @internal */
  readonly type: TypeInfo;
  /** @internal The one-element typed array over shared memory. */
  readonly view: Stored;
  readonly #direct: boolean;
  readonly #integer: boolean;

  constructor(typecode: T, initial?: InitialOf<T>) {
    const state = reviving.take();
    this.typecode = (state?.typecode as T | undefined) ?? typecode;
    this.type = typeInfo(this.typecode);
    this.#direct = this.type.kind === 'int' || this.type.kind === 'float' || this.type.kind === 'bigint';
    this.#integer = this.type.kind === 'int';
    if (state !== undefined) {
      this.view = viewOf(this.type, state.buffer, state.byteOffset, 1);
    } else {
      const stored = toStored(this.type, initial ?? (this.type.kind === 'bigint' ? 0n : 0));
      this.view = viewOf(this.type, allocateShared(8), 0, 1);
      (this.view as Int32Array | BigInt64Array)[0] = stored as never;
    }
  }

  /** The shared value. 64-bit typecodes read and write `bigint`; 'c'/'u' one-character strings; '?' booleans. */
  get value(): ValueOf<T> {
    // Numbers and bigints are stored as they are read: one typed-array load, no conversion.
    if (this.#direct) return this.view[0] as ValueOf<T>;
    return fromStored(this.type, this.view[0]) as ValueOf<T>;
  }

  set value(value: ValueOf<T>) {
    // Fast path for the common case (an integer into an integer typecode), checked as strictly as the rest.
    if (this.#integer && Number.isInteger(value)) (this.view as Int32Array)[0] = value as number;
    else (this.view as Int32Array | BigInt64Array)[0] = toStored(this.type, value) as never;
  }

  /** @internal */
  [reduce](): Reduced {
    return { kind: 'RawValue', state: this.state(null) };
  }

  /** @internal */
  protected state(lock: Reduced | null): ValueState {
    return { typecode: this.typecode, buffer: this.view.buffer as SharedArrayBuffer, byteOffset: this.view.byteOffset, lock };
  }

  toString(): string {
    return `${this.constructor.name}('${this.typecode}', ${String(this.value)})`;
  }
}

/**
 * One shared scalar with a lock (Python's `multiprocessing.Value`). The lock is an `RLock` by
 * default, so code holding `getLock()` may call helpers that take it again.
 *
 * @example
 * ```ts
 * const counter = new Value('i', 0);
 * // in each worker:
 * counter.withLock(() => { counter.value += 1; });    // or: using _ = counter.getLock().guard();
 * ```
 */
export class Value<T extends TypeCode = TypeCode> extends RawValue<T> {
  readonly #lock: Lock | RLock | null;

  constructor(typecode: T, initial?: InitialOf<T>, options: ValueOptions = {}) {
    const state = reviving.peek();
    super(typecode, initial);
    this.#lock = state !== undefined ? reviveLock(state.lock) : makeLock(options.lock);
  }

  /** The lock that guards this value. Throws if it was made with `{ lock: false }`. */
  getLock(): Lock | RLock {
    if (this.#lock === null) throw noLock('Value');
    return this.#lock;
  }

  /** The value without its lock wrapper: a `RawValue` over the same memory (Python's `get_obj()`). */
  getObj(): RawValue<T> {
    return reviving.fill(this.state(null), () => new RawValue(this.typecode));
  }

  /** Acquires the value's lock (as Python's `Synchronized.acquire`). */
  acquire(blocking: boolean = true, timeout?: number): boolean {
    return this.getLock().acquire(blocking, timeout);
  }

  /** Acquires the value's lock without blocking the event loop (a timeout in ms or `{ timeout?, signal? }`). */
  acquireAsync(timeout?: WaitArg): Promise<boolean> {
    return this.getLock().acquireAsync(timeout);
  }

  /** Releases the value's lock. */
  release(): void {
    this.getLock().release();
  }

  /** `using _ = v.guard()`: holds the value's lock until the scope ends. */
  guard(timeout?: number): Disposable {
    return this.getLock().guard(timeout);
  }

  /** `using _ = await v.guardAsync()`. */
  guardAsync(timeout?: WaitArg): Promise<Disposable> {
    return this.getLock().guardAsync(timeout);
  }

  /** Runs `fn` holding the value's lock. */
  withLock<R>(fn: () => R): R {
    return this.getLock().withLock(fn);
  }

  /** Awaits the value's lock, then `fn`, and releases. */
  withLockAsync<R>(fn: () => R | Promise<R>, timeout?: WaitArg): Promise<Awaited<R>> {
    return this.getLock().withLockAsync(fn, timeout);
  }

  /** @internal */
  override [reduce](): Reduced {
    return { kind: 'Value', state: this.state(this.#lock === null ? null : this.#lock[reduce]()) };
  }
}

/** @internal The lock a `lock` option asks for. */
export function makeLock(option: LockOption | undefined): Lock | RLock | null {
  if (option === undefined || option === true) return new RLock();
  if (option === false) return null;
  if (option instanceof Lock || option instanceof RLock) return option;
  throw misuse(TypeError, 'ERR_MP_LOCK_OPTION', `lock must be true, false, a Lock or an RLock, not ${String(option)}`);
}

/** @internal */
export function reviveLock(reduced: Reduced | null): Lock | RLock | null {
  return reduced === null ? null : (revive(reduced) as Lock | RLock);
}

/** @internal */
export function noLock(what: string): Error {
  return misuse(
    Error,
    'ERR_MP_NO_LOCK',
    `this ${what} was created with { lock: false } and has no lock: create it with a lock (the default) or pass one ({ lock: new Lock() })`,
  );
}

registerShareable('RawValue', (state) => reviving.fill(state as ValueState, () => new RawValue((state as ValueState).typecode)), import.meta.url);
registerShareable('Value', (state) => reviving.fill(state as ValueState, () => new Value((state as ValueState).typecode)), import.meta.url);
