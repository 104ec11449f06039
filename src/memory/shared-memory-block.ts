/**
 * `SharedMemory` (Python's `multiprocessing.shared_memory.SharedMemory`): a block of bytes with a name,
 * which any process or thread of the user can attach to by that name.
 *
 * The one place the library gives shared memory a name. Everything else (values, arrays, locks, queues)
 * lives in anonymous memfd segments passed by fd, which the kernel frees with their last holder, even
 * after SIGKILL (`runtime/process/segments.ts`). A name is the point here: a block must be findable by
 * programs that share nothing else, as in Python. So a block is a file in `/dev/shm` (what POSIX
 * `shm_open` makes, and what Python's blocks are, so a Python program can attach to ours by name), mapped
 * with the native addon as a real `SharedArrayBuffer`. The price is Python's: the name outlives every
 * process until someone calls `unlink()`, and a process killed before it does leaks the block (its
 * memory stays in use until reboot or `rm /dev/shm/<name>`). `using` unlinks a block its owner created.
 *
 * Each attachment is its own mapping (as each `SharedMemory(name)` is in Python): plain reads and writes
 * of `.buf` are shared by all of them, but `Atomics.wait/notify` do not reach across two mappings. To
 * wait for each other, use the library's locks, events or queues beside the block.
 *
 * Without the addon (no C++ compiler at install, Windows), creating or attaching throws
 * `ERR_MP_NATIVE_UNAVAILABLE`, whatever the start method.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { misuse, describeValue } from '../errors.js';
import { loadNative } from '../runtime/process/native.js';
import { noNativeError } from '../runtime/process/shared-buffer-codec.js';
import { allocationError, MAX_VIEW_LENGTH, viewTooLongError } from '../runtime/shared-memory.js';
import { registerShareable, reduce, ReviveSlot, type Reduced, type Shareable } from '../transport/shareable.js';

/** Options of `new SharedMemory(options)`, as Python's `SharedMemory(name=None, create=False, size=0)`. */
export interface SharedMemoryOptions {
  /** The block's name (a leading `/` is optional); omitted with `create`: a new unique name (`psm_…`). */
  readonly name?: string;
  /** `true`: create a new block (`ERR_MP_SHARED_MEMORY_EXISTS` if the name is taken); else attach to one. */
  readonly create?: boolean;
  /** Bytes of a new block (> 0); ignored when attaching: the block's own size is used. */
  readonly size?: number;
}

/** Where POSIX shared memory names live on Linux (what `shm_open` opens). */
const SHM_DIR = '/dev/shm';

const reviving = new ReviveSlot<{ readonly name: string }>();

function checkName(name: unknown): string {
  if (typeof name !== 'string') throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `name must be a string, not ${describeValue(name)}`);
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (bare === '' || bare === '.' || bare === '..' || bare.includes('/') || bare.includes('\0') || bare.length > 255) {
    throw misuse(
      RangeError,
      'ERR_MP_INVALID_ARG',
      `invalid shared memory name ${JSON.stringify(name)}: use 1 to 255 characters, without '/' except a leading one`,
    );
  }
  return bare;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A named block of shared bytes (Python's `multiprocessing.shared_memory.SharedMemory`): create it in
 * one process, attach to it by name in any other, read and write `.buf`. `close()` when this process is
 * done with it; `unlink()` once, when every process is (see the module notes: a name that is never
 * unlinked outlives the program). Passed to a `Process` or a pool task, it attaches there by name.
 *
 * @example
 * ```ts
 * using block = new SharedMemory({ create: true, size: 1024 }); // unlinked at the end of the scope
 * block.buf[0] = 42;
 * const other = new SharedMemory({ name: block.name });           // in any process of this user
 * other.buf[0];                                                   // 42
 * other.close();
 * ```
 */
export class SharedMemory implements Shareable {
  /** The block's name, without a leading `/`: what another process attaches with. */
  readonly name: string;
  /** The block's size in bytes. */
  readonly size: number;
  #buf: Uint8Array | undefined;
  #owner: boolean;
  #unlinked = false;

  constructor(options: SharedMemoryOptions = {}) {
    const revived = reviving.take();
    const { name, create = false, size = 0 }: SharedMemoryOptions = revived ?? options;
    if (typeof create !== 'boolean') throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `create must be a boolean, not ${describeValue(create)}`);
    const loaded = loadNative();
    if (loaded.native === undefined) throw noNativeError('cannot create or attach to a SharedMemory block');
    let fd: number;
    if (create) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
        throw misuse(RangeError, 'ERR_MP_INVALID_ARG', `'size' must be a positive whole number of bytes when creating a block, not ${describeValue(size)}`);
      }
      if (size > MAX_VIEW_LENGTH) throw viewTooLongError(`SharedMemory({ size: ${size} })`, size, 'bytes', 'ERR_MP_INVALID_ARG');
      this.name = name === undefined ? `psm_${randomHex(8)}` : checkName(name);
      try {
        fd = openSync(`${SHM_DIR}/${this.name}`, 'wx+', 0o600);
      } catch (error) {
        if (errnoOf(error) === 'EEXIST') {
          throw misuse(Error, 'ERR_MP_SHARED_MEMORY_EXISTS', `a shared memory block named '${this.name}' exists already: attach to it (create: false), or choose another name`, { cause: error });
        }
        throw error;
      }
    } else {
      if (name === undefined) throw misuse(TypeError, 'ERR_MP_INVALID_ARG', "a name is needed to attach to a block (or pass create: true to make a new one)");
      this.name = checkName(name);
      try {
        fd = openSync(`${SHM_DIR}/${this.name}`, 'r+');
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') throw notFound(this.name, error);
        throw error;
      }
    }
    const purpose = `SharedMemory '${this.name}'`;
    try {
      if (create) ftruncateSync(fd, size);
      this.size = fstatSync(fd).size;
      if (this.size > MAX_VIEW_LENGTH) throw viewTooLongError(purpose, this.size, 'bytes', 'ERR_MP_INVALID_ARG');
      // The mapping keeps the block's memory; the fd is not needed once it is made.
      try {
        this.#buf = new Uint8Array(loaded.native.mapSegment(fd, this.size));
      } catch (error) {
        throw allocationError(this.size, purpose, error);
      }
    } catch (error) {
      // A block this call created and could not map is no use to anyone: its name goes too.
      if (create) unlinkSync(`${SHM_DIR}/${this.name}`);
      if (errnoOf(error) === 'ENOSPC' || errnoOf(error) === 'EFBIG') throw allocationError(size, purpose, error);
      throw error;
    } finally {
      closeSync(fd);
    }
    this.#owner = create;
  }

  /** The block's bytes (shared with every attachment). Throws `ERR_MP_SHARED_MEMORY_CLOSED` after `close()`. */
  get buf(): Uint8Array {
    if (this.#buf === undefined) {
      throw misuse(Error, 'ERR_MP_SHARED_MEMORY_CLOSED', `shared memory block '${this.name}' is closed in this thread: attach to it again by name`);
    }
    return this.#buf;
  }

  /**
   * Detaches this object from the block: `.buf` throws from now on. The block lives on for the other
   * attachments, and its name until `unlink()`. (The memory stays mapped until views taken from `.buf`
   * are garbage collected: JavaScript cannot invalidate a `SharedArrayBuffer`.)
   */
  close(): void {
    this.#buf = undefined;
  }

  /**
   * Removes the block's name: no one can attach any more, and its memory is freed once every
   * attachment is gone. Call it once, in one process (Python's rule). Throws
   * `ERR_MP_SHARED_MEMORY_NOT_FOUND` if the name is already gone.
   */
  unlink(): void {
    try {
      unlinkSync(`${SHM_DIR}/${this.name}`);
      this.#unlinked = true;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') throw notFound(this.name, error);
      throw error;
    }
  }

  /** `using`: closes, and unlinks a block this object created (if not unlinked yet). */
  [Symbol.dispose](): void {
    this.close();
    if (this.#owner && !this.#unlinked) {
      this.#unlinked = true;
      try {
        unlinkSync(`${SHM_DIR}/${this.name}`);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
    }
  }

  /** @internal Crosses by name: the receiver attaches (Python pickles a block the same way). */
  [reduce](): Reduced {
    return { kind: 'SharedMemory', state: { name: this.name } };
  }

  toString(): string {
    return `SharedMemory('${this.name}', size=${this.size})`;
  }
}

function notFound(name: string, cause: unknown): Error {
  return misuse(Error, 'ERR_MP_SHARED_MEMORY_NOT_FOUND', `no shared memory block named '${name}' (never created, or unlinked)`, { cause });
}

registerShareable('SharedMemory', (state) => reviving.fill(state as { name: string }, () => new SharedMemory()), import.meta.url);

/**
 * `bytes` random bytes in hex, from the Web Crypto global (node:crypto would cost every thread that
 * imports the library a few milliseconds at start-up, for a name made rarely).
 */
function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
