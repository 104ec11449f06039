/**
 * The distributed `Array`: typed elements in one Redis string (`elements.ts`), with a distributed lock.
 * Python's `multiprocessing.Array` is indexed in place; across machines each access is a round trip,
 * so this one reads and writes by index (`get`/`set`/`add`) and in bulk (`toArray`/`setAll`).
 */
import { describeValue, misuse } from '../../errors.js';
import type { ElementOf, TypeCode, ValueOf } from '../../memory/typecodes.js';
import { typeInfo } from '../../memory/typecodes.js';
import { callBlocking } from '../objects/blocking.js';
import { registerNamed, type NamedOptions } from '../objects/named.js';
import type { Lock } from '../sync/lock.js';
import type { RLock } from '../sync/rlock.js';
import { Elements } from './elements.js';
import { lockFromSpec, lockSpec, makeObjectLock, noLock, Synchronized, type DistributedLockOption, type LockSpec } from './synchronized.js';

/** Options of the distributed `Array`. */
export interface ArrayOptions {
  /** `true` (default): a distributed `RLock` of its own; `false`: none; or a distributed `Lock`/`RLock`. */
  readonly lock?: DistributedLockOption;
}

// As in value.ts: set while a reviver builds a handle.
let attaching: { readonly length: number; readonly lock: LockSpec; readonly initial: readonly unknown[] | undefined } | undefined;

/**
 * A fixed-length typed array shared by every process, on any machine, that names the same
 * `{ url, namespace, name }` (Python's `multiprocessing.Array`). The first handle made creates it
 * (`size` zeros, or the given values); later ones find it as it is.
 *
 * Each blocking method (`get`, `set`, `add`, `toArray`, `setAll`) is one round trip that blocks this
 * thread (through a helper thread); each has an async form that does not. `add` is atomic and wraps as
 * a typed array does, so counters need no lock; for a read followed by a write, hold `getLock()`.
 *
 * @example
 * ```ts
 * import { Array as SharedArray } from 'multiprocessing/distributed';
 * const histogram = new SharedArray({ url, name: 'histogram' }, 'i', 10);
 * await histogram.addAsync(bucket, 1);
 * console.log(await histogram.toArrayAsync()); // [0, 3, 1, …]
 * ```
 */
export class SharedArray<T extends TypeCode = TypeCode> extends Synchronized {
  /** @internal */
  static readonly kind = 'Array';
  /** The typecode given to the constructor. */
  readonly typecode: T;
  /** The number of elements. */
  readonly length: number;
  readonly #elements: Elements;
  readonly #lock: Lock | RLock | null;
  readonly #created: Promise<void>;
  #initial: readonly unknown[] | undefined;

  constructor(options: NamedOptions, typecode: T, sizeOrValues: number | readonly ValueOf<T>[], arrayOptions: ArrayOptions = {}) {
    super(options);
    this.typecode = typecode;
    const type = typeInfo(typecode);
    const revived = attaching;
    attaching = undefined;
    let initial: readonly unknown[] | undefined;
    if (revived !== undefined) {
      this.length = revived.length;
      initial = revived.initial;
      this.#lock = lockFromSpec(revived.lock);
    } else {
      initial = initialValues(sizeOrValues, type.kind === 'bigint' ? 0n : 0);
      this.length = initial.length;
      this.#lock = makeObjectLock(arrayOptions.lock, { url: this.url, namespace: this.namespace, name: this.name }, 'Array');
    }
    this.#elements = new Elements(this.link, this.key(), type, this.length, `the Array '${this.name}'`);
    this.#initial = initial;
    if (initial === undefined) {
      this.#created = Promise.resolve();
    } else {
      // As in value.ts: handles made from this one write the initial contents too until it is confirmed.
      this.#created = this.#elements.create(initial).then(() => {
        this.#initial = undefined;
      });
      this.#created.catch(() => {});
    }
  }

  /** Element `index` (a round trip, blocking this thread). */
  get(index: number): ValueOf<T> {
    return callBlocking<ValueOf<T>>(this, 'getAsync', [index]);
  }

  /** Element `index`. */
  async getAsync(index: number): Promise<ValueOf<T>> {
    this.#check(index);
    await this.#created;
    return (await this.#elements.get(index)) as ValueOf<T>;
  }

  /** Sets element `index` (a round trip, blocking this thread). */
  set(index: number, value: ValueOf<T>): void {
    callBlocking<void>(this, 'setAsync', [index, value]);
  }

  /** Sets element `index`. */
  async setAsync(index: number, value: ValueOf<T>): Promise<void> {
    this.#check(index);
    await this.#created;
    await this.#elements.set(index, value);
  }

  /** Adds `delta` to element `index` atomically; returns the new value (blocking this thread). */
  add(index: number, delta: ElementOf<T>): ElementOf<T> {
    return callBlocking<ElementOf<T>>(this, 'addAsync', [index, delta]);
  }

  /** `add` without blocking the event loop. */
  async addAsync(index: number, delta: ElementOf<T>): Promise<ElementOf<T>> {
    this.#check(index);
    await this.#created;
    return (await this.#elements.add(index, delta)) as ElementOf<T>;
  }

  /** Every element, in one round trip (blocking this thread). */
  toArray(): ValueOf<T>[] {
    return callBlocking<ValueOf<T>[]>(this, 'toArrayAsync', []);
  }

  /** Every element, in one round trip. */
  async toArrayAsync(): Promise<ValueOf<T>[]> {
    await this.#created;
    return (await this.#elements.getAll()) as ValueOf<T>[];
  }

  /** Writes `values` from element `start` on, in one step (Python's slice assignment; blocking this thread). */
  setAll(values: readonly ValueOf<T>[], start = 0): void {
    callBlocking<void>(this, 'setAllAsync', [values, start]);
  }

  /** `setAll` without blocking the event loop. */
  async setAllAsync(values: readonly ValueOf<T>[], start = 0): Promise<void> {
    if (!Array.isArray(values)) throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `setAll() takes an array of values, not ${describeValue(values)}`);
    this.#check(start);
    if (start + values.length > this.length) {
      throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `setAll() of ${values.length} values from index ${start} goes past the end (length ${this.length})`);
    }
    await this.#created;
    await this.#elements.setAll(values, start);
  }

  /** The lock that guards this Array (Python's `get_lock()`): a distributed `RLock` unless given. */
  getLock(): Lock | RLock {
    if (this.#lock === null) throw noLock(`the Array '${this.name}'`);
    return this.#lock;
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.typecode, this.length, lockSpec(this.#lock), this.#initial];
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `index ${String(index)} is out of range for the Array '${this.name}' of length ${this.length}`);
    }
  }
}

function initialValues(sizeOrValues: unknown, zero: number | bigint): readonly unknown[] {
  if (typeof sizeOrValues === 'number' && Number.isInteger(sizeOrValues) && sizeOrValues > 0) return new Array<unknown>(sizeOrValues).fill(zero);
  if (Array.isArray(sizeOrValues) && sizeOrValues.length > 0) return sizeOrValues;
  throw misuse(
    TypeError,
    'ERR_MP_ARRAY_SIZE',
    `a distributed Array needs a size (an integer ≥ 1) or a non-empty array of initial values, not ${describeValue(sizeOrValues)}`,
  );
}

registerNamed(
  'Array',
  (where, [typecode, length, lock, initial]) => {
    attaching = { length: length as number, lock: lock as LockSpec, initial: initial as readonly unknown[] | undefined };
    try {
      return new SharedArray(where, typecode as TypeCode, length as number);
    } finally {
      attaching = undefined;
    }
  },
  import.meta.url,
);
