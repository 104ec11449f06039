/**
 * The distributed `Value`: one typed scalar in Redis (`elements.ts`), with a distributed lock.
 *
 * `.value` reads and writes are single Redis commands, so they never tear; `add` is atomic (a Lua
 * script), so counters need no lock. A read followed by a write is not atomic, exactly as in Python:
 * hold `getLock()` for that.
 */
import type { InitialOf, TypeCode, ValueOf } from '../../memory/typecodes.js';
import { typeInfo } from '../../memory/typecodes.js';
import { callBlocking } from '../objects/blocking.js';
import { registerNamed, type NamedOptions } from '../objects/named.js';
import type { Lock } from '../sync/lock.js';
import type { RLock } from '../sync/rlock.js';
import { Elements } from './elements.js';
import { lockFromSpec, lockSpec, makeObjectLock, noLock, Synchronized, type DistributedLockOption, type LockSpec } from './synchronized.js';

/** Options of the distributed `Value`. */
export interface ValueOptions {
  /** `true` (default): a distributed `RLock` of its own; `false`: none; or a distributed `Lock`/`RLock`. */
  readonly lock?: DistributedLockOption;
}

// Set while a reviver builds a handle: its lock, and the initial contents when the handle it came from
// had not yet seen them written (then this one writes them too: `SET NX` is idempotent).
let attaching: { readonly lock: LockSpec; readonly initial: unknown } | undefined;

/**
 * One typed scalar shared by every process, on any machine, that names the same
 * `{ url, namespace, name }` (Python's `multiprocessing.Value`). The first handle made creates it with
 * `initial`; later ones (here or elsewhere) find it and leave it as it is.
 *
 * The `value` property blocks this thread for a round trip (through a helper thread); `getAsync`,
 * `setAsync` and `addAsync` do not. A Value whose key vanished from Redis (restarted without
 * persistence) throws `ERR_MP_OBJECT_LOST` instead of reading as zero.
 *
 * @example
 * ```ts
 * import { Value } from 'multiprocessing/distributed';
 * const hits = new Value({ url: 'redis://127.0.0.1:6379', name: 'hits' }, 'i', 0);
 * await hits.addAsync(1);                        // atomic, from any number of machines
 * await hits.getLock().withLockAsync(async () => hits.setAsync(Math.max(await hits.getAsync(), 10)));
 * ```
 */
export class Value<T extends TypeCode = TypeCode> extends Synchronized {
  /** @internal */
  static readonly kind = 'Value';
  /** The typecode given to the constructor. */
  readonly typecode: T;
  readonly #elements: Elements;
  readonly #lock: Lock | RLock | null;
  readonly #created: Promise<void>;
  #initial: unknown;

  constructor(options: NamedOptions, typecode: T, initial?: InitialOf<T>, valueOptions: ValueOptions = {}) {
    super(options);
    this.typecode = typecode;
    const type = typeInfo(typecode);
    this.#elements = new Elements(this.link, this.key(), type, 1, `the Value '${this.name}'`);
    const revived = attaching;
    attaching = undefined;
    this.#lock = revived !== undefined ? lockFromSpec(revived.lock) : makeObjectLock(valueOptions.lock, this.#where(), 'Value');
    this.#initial = revived !== undefined ? revived.initial : (initial ?? (type.kind === 'bigint' ? 0n : 0));
    if (this.#initial === undefined) {
      this.#created = Promise.resolve();
    } else {
      // Until the write is confirmed, the handles made from this one (a blocking call's helper thread,
      // a task's argument) carry the initial value and write it too, so none reads before it exists.
      this.#created = this.#elements.create([this.#initial]).then(() => {
        this.#initial = undefined;
      });
      // A failure is reported by the first operation, which awaits this.
      this.#created.catch(() => {});
    }
  }

  #where(): Required<NamedOptions> {
    return { url: this.url, namespace: this.namespace, name: this.name };
  }

  /** The value (a round trip, blocking this thread). 64-bit typecodes read and write `bigint`. */
  get value(): ValueOf<T> {
    return callBlocking<ValueOf<T>>(this, 'getAsync', []);
  }

  set value(value: ValueOf<T>) {
    callBlocking<void>(this, 'setAsync', [value]);
  }

  /** The value. */
  async getAsync(): Promise<ValueOf<T>> {
    await this.#created;
    return (await this.#elements.get(0)) as ValueOf<T>;
  }

  /** Sets the value. */
  async setAsync(value: ValueOf<T>): Promise<void> {
    await this.#created;
    await this.#elements.set(0, value);
  }

  /**
   * Adds `delta` atomically and returns the new value; integers wrap as typed arrays do. Numeric
   * typecodes only. Blocks this thread for the round trip; `addAsync` does not.
   */
  add(delta: ValueOf<T>): ValueOf<T> {
    return callBlocking<ValueOf<T>>(this, 'addAsync', [delta]);
  }

  /** `add` without blocking the event loop. */
  async addAsync(delta: ValueOf<T>): Promise<ValueOf<T>> {
    await this.#created;
    return (await this.#elements.add(0, delta)) as ValueOf<T>;
  }

  /** The lock that guards this Value (Python's `get_lock()`): a distributed `RLock` unless given. */
  getLock(): Lock | RLock {
    if (this.#lock === null) throw noLock(`the Value '${this.name}'`);
    return this.#lock;
  }

  /** @internal */
  protected args(): readonly unknown[] {
    return [this.typecode, lockSpec(this.#lock), this.#initial];
  }
}

registerNamed(
  'Value',
  (where, [typecode, lock, initial]) => {
    attaching = { lock: lock as LockSpec, initial };
    try {
      return new Value(where, typecode as TypeCode);
    } finally {
      attaching = undefined;
    }
  },
  import.meta.url,
);
