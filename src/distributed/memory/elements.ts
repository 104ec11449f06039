/**
 * What the distributed `Value` and `Array` share: typed elements in one Redis string, read and written
 * by index, with atomic adds.
 *
 * Layout: the elements back to back, **big-endian**, as `BITFIELD` numbers bits: its `INCRBY` with
 * `OVERFLOW WRAP` is exactly a typed array's wraparound (an `int32` at 2147483647 plus 1 is
 * -2147483648). `BITFIELD` has no `u64`: an unsigned add is done as the signed add of the same width,
 * which leaves the same bits. Floats are added in Lua (`struct.unpack('>d')`, add, `struct.pack`),
 * because `INCRBYFLOAT` computes in decimal (0.1 + 0.2 gives 0.3 there, not JavaScript's
 * 0.30000000000000004). Every script returns the element's bytes after the change, never a Lua number
 * (a double, which would round a 64-bit integer).
 *
 * A missing key is an error, never a zero: the string is written once, when the object is created
 * (`SET NX`), and a key that vanished (Redis restarted without persistence, or someone deleted it) is
 * reported (`ERR_MP_OBJECT_LOST`) instead of silently starting again from zeros.
 */
import { misuse } from '../../errors.js';
import { fromStored, toStored, type TypeInfo } from '../../memory/typecodes.js';
import type { Link, Script } from '../objects/redis.js';

// KEYS: the string. ARGV: byte offset, bytes. Returns 1, or -1 when the key is missing.
const WRITE: Script = {
  name: 'mpElementsWrite',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('SETRANGE', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
};

// KEYS: the string. ARGV: bitfield type, index, delta, byte offset, width in bytes.
const ADD_INTEGER: Script = {
  name: 'mpElementsAddInteger',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('BITFIELD', KEYS[1], 'OVERFLOW', 'WRAP', 'INCRBY', ARGV[1], '#' .. ARGV[2], ARGV[3])
return redis.call('GETRANGE', KEYS[1], ARGV[4], ARGV[4] + ARGV[5] - 1)
`,
};

// KEYS: the string. ARGV: struct format ('>d' or '>f'), byte offset, width, delta.
const ADD_FLOAT: Script = {
  name: 'mpElementsAddFloat',
  keys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local from = tonumber(ARGV[2])
local bytes = redis.call('GETRANGE', KEYS[1], from, from + ARGV[3] - 1)
local sum = struct.pack(ARGV[1], struct.unpack(ARGV[1], bytes) + tonumber(ARGV[4]))
redis.call('SETRANGE', KEYS[1], from, sum)
return sum
`,
};

/** @internal What an element reads as: a number, a bigint (64-bit typecodes), a string ('c', 'u') or a boolean ('?'). */
export type Element = number | bigint | string | boolean;

/** @internal Typed elements in one Redis string (see the module notes). */
export class Elements {
  constructor(
    private readonly link: Link,
    private readonly key: string,
    readonly type: TypeInfo,
    readonly length: number,
    /** Names the object in messages: `the Value 'hits'`. */
    private readonly label: string,
  ) {}

  /** Writes the initial contents unless the object exists already (another handle created it). */
  async create(values: readonly unknown[]): Promise<void> {
    const bytes = Buffer.alloc(this.length * this.type.bytes);
    values.forEach((value, i) => this.#encodeInto(bytes, i, value));
    await this.link.run((redis) => redis.set(this.key, bytes, 'NX'));
  }

  async get(index: number): Promise<Element> {
    const from = index * this.type.bytes;
    const bytes = await this.link.run((redis) => redis.getrangeBuffer(this.key, from, from + this.type.bytes - 1));
    if (bytes.length === 0) throw this.#lost();
    return this.#decode(bytes, 0);
  }

  async set(index: number, value: unknown): Promise<void> {
    const bytes = Buffer.alloc(this.type.bytes);
    this.#encodeInto(bytes, 0, value);
    await this.#write(index * this.type.bytes, bytes);
  }

  async getAll(): Promise<Element[]> {
    const bytes = await this.link.run((redis) => redis.getBuffer(this.key));
    if (bytes === null) throw this.#lost();
    return Array.from({ length: this.length }, (_, i) => this.#decode(bytes, i));
  }

  async setAll(values: readonly unknown[], start: number): Promise<void> {
    const bytes = Buffer.alloc(values.length * this.type.bytes);
    values.forEach((value, i) => this.#encodeInto(bytes, i, value));
    await this.#write(start * this.type.bytes, bytes);
  }

  /** Adds `delta` atomically (wrapping as a typed array does); returns the new value. */
  async add(index: number, delta: unknown): Promise<number | bigint> {
    const { kind, bytes: width } = this.type;
    const from = index * width;
    let reply: Buffer | number;
    if (kind === 'float') {
      if (typeof delta !== 'number') throw misuse(TypeError, 'ERR_MP_VALUE_KIND', `add() on typecode '${this.type.code}' takes a number, not ${typeof delta}`);
      reply = await this.link.script<Buffer | number>(ADD_FLOAT, [this.key], [width === 8 ? '>d' : '>f', from, width, delta], true, true);
    } else if (kind === 'int' || kind === 'bigint') {
      // BITFIELD takes a signed 64-bit increment: a u64 delta past 2^63 is the same bits as a negative one.
      const stored = toStored(this.type, delta);
      const step = typeof stored === 'bigint' ? BigInt.asIntN(64, stored) : stored;
      reply = await this.link.script<Buffer | number>(ADD_INTEGER, [this.key], [`i${width * 8}`, index, String(step), from, width], true, true);
    } else {
      throw misuse(TypeError, 'ERR_MP_VALUE_KIND', `add() needs a numeric typecode, not '${this.type.code}'`);
    }
    if (typeof reply === 'number') throw this.#lost();
    return this.#decode(reply, 0) as number | bigint;
  }

  async #write(offset: number, bytes: Buffer): Promise<void> {
    if ((await this.link.script<number>(WRITE, [this.key], [offset, bytes])) < 0) throw this.#lost();
  }

  #encodeInto(bytes: Buffer, index: number, value: unknown): void {
    const stored = toStored(this.type, value);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = index * this.type.bytes;
    const { ctor } = this.type;
    if (ctor === Float64Array) view.setFloat64(at, stored as number);
    else if (ctor === Float32Array) view.setFloat32(at, stored as number);
    else if (ctor === BigInt64Array || ctor === BigUint64Array) view.setBigUint64(at, BigInt.asUintN(64, stored as bigint));
    else if (this.type.bytes === 4) view.setUint32(at, (stored as number) >>> 0);
    else if (this.type.bytes === 2) view.setUint16(at, (stored as number) & 0xffff);
    else view.setUint8(at, (stored as number) & 0xff);
  }

  #decode(bytes: Buffer, index: number): Element {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = index * this.type.bytes;
    const { ctor } = this.type;
    let stored: number | bigint;
    if (ctor === Float64Array) stored = view.getFloat64(at);
    else if (ctor === Float32Array) stored = view.getFloat32(at);
    else if (ctor === BigInt64Array) stored = view.getBigInt64(at);
    else if (ctor === BigUint64Array) stored = view.getBigUint64(at);
    else if (ctor === Int32Array) stored = view.getInt32(at);
    else if (ctor === Uint32Array) stored = view.getUint32(at);
    else if (ctor === Int16Array) stored = view.getInt16(at);
    else if (ctor === Uint16Array) stored = view.getUint16(at);
    else if (ctor === Int8Array) stored = view.getInt8(at);
    else stored = view.getUint8(at);
    return fromStored(this.type, stored);
  }

  #lost(): Error {
    return misuse(
      Error,
      'ERR_MP_OBJECT_LOST',
      `${this.label} is gone from Redis (restarted without persistence, or its key was deleted): its contents are lost, ` +
        `and it is not silently recreated from zeros. Create it again with new, or enable Redis persistence (appendonly yes)`,
    );
  }
}
