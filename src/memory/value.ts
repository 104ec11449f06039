/**
 * `Value` and `RawValue`: one typed scalar in a `SharedArrayBuffer`, seen by every worker.
 *
 * Reading or writing `.value` is one aligned memory access, so it never tears; what is not atomic is a
 * read followed by a write (`v.value += 1`), exactly as in Python: hold `getLock()` for that. Unlike
 * Python's `Synchronized`, `.value` does not take the lock on each access (it would change nothing a
 * program can observe, and cost three lock operations per `+=`).
 */
import { allocateShared } from '../runtime/shared-memory.js';
import { registerShareable, reduce, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';
import { makeLock, reduceLock, reviveLock, setLock, synchronize, type LockOption, type Synchronized } from './synchronized.js';
import { fromStored, toStored, typeInfo, type TypeCode, type TypeInfo, type ValueOf, type InitialOf, type AnyTypedArray, viewOf } from './typecodes.js';

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
  constructor(typecode: T, initial?: InitialOf<T>, options: ValueOptions = {}) {
    const state = reviving.peek();
    super(typecode, initial);
    setLock(this, state !== undefined ? reviveLock(state.lock) : makeLock(options.lock));
  }

  /** The value without its lock wrapper: a `RawValue` over the same memory (Python's `get_obj()`). */
  getObj(): RawValue<T> {
    return reviving.fill(this.state(null), () => new RawValue(this.typecode));
  }

  /** @internal */
  override [reduce](): Reduced {
    return { kind: 'Value', state: this.state(reduceLock(this)) };
  }
}

// The lock methods (`getLock`, `acquire`, `guard`, `withLock`, …) are `Synchronized`'s, shared with `Array`.
export interface Value<T extends TypeCode = TypeCode> extends Synchronized {}
synchronize(Value, 'Value');

registerShareable('RawValue', (state) => reviving.fill(state as ValueState, () => new RawValue((state as ValueState).typecode)), import.meta.url);
registerShareable('Value', (state) => reviving.fill(state as ValueState, () => new Value((state as ValueState).typecode)), import.meta.url);
