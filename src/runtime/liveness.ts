/**
 * Which processes of the program are alive: one table in shared memory, and each process's owner
 * token, the number that locks store as their holder.
 *
 * Why a table: a worker thread that is terminated (`Process.terminate()`, a pool task's `timeout`)
 * runs none of its code on the way out, so it cannot release its locks or say it is gone. Its parent
 * sees its `exit` event, though, and marks its entry dead here; an acquirer that finds a lock held by
 * a token whose entry is dead takes the lock over (see `sync/mutex.ts`).
 *
 * - The main thread creates the table on first need and owns slot 0. A parent claims a slot for each
 *   child it starts (`spawn.ts`, the one place that starts workers) and passes the table and the
 *   child's token in the start message, so grandchildren share the same table.
 * - A token is `generation << SLOT_BITS | slot` (plus `PROCESS_TABLE` in the shared table's): unique
 *   per process and never reused by a later occupant of the slot (18 bits of generation per slot),
 *   nonzero, and below 2²⁹, so a lock word can
 *   keep flag bits above it.
 * - An entry records its parent's token. A terminated worker takes its own children with it, but it
 *   can no longer mark them dead, so a process counts as alive only while its whole chain of parents
 *   is; the slots of such orphans are reclaimed when a parent next needs one.
 * - Children of the `'process'` start method take seats in a second table, in memory shared across
 *   processes (a memfd segment, made by the program's main thread when it starts its first process
 *   child). Its tokens carry `PROCESS_TABLE`, so they never equal a token of any OS process's own thread
 *   table; a process child adopts that table as its own, so its threads, and the process children it
 *   starts, take seats there too. Every OS process then sees the same entries: the parent marks a child
 *   that exited (even by SIGKILL) dead, and a lock it held is recovered in every process. A token of a
 *   table this thread cannot see (the top program's threads, seen from a process child) counts as alive.
 * - A thread this library did not start (a user's own `Worker`) gets a "foreign" token built from its
 *   thread id: unique within the OS process, never in the table, and always assumed alive.
 *
 * A child that ends by its own hand marks itself dead as it exits. A child ended from outside
 * (`terminate()`, SIGKILL) is marked by its parent, which observes the exit on its event loop: a thread
 * blocked synchronously (a main thread in `lock.acquire()` right after `p.terminate()`, without awaiting
 * `p.join()`) does not see that one.
 */
import { perThread } from './thread-state.js';
import { allocateShared } from './shared-memory.js';
import { isMainThread, threadId } from 'node:worker_threads';

const SLOT_BITS = 10;
const SLOTS = 1 << SLOT_BITS;
const SLOT_MASK = SLOTS - 1;
const GENERATIONS = (1 << (28 - SLOT_BITS)) - 1;
/** Set in the tokens of the table shared across processes (seats of `'process'` children). */
const PROCESS_TABLE = 1 << 28;
/** Set in the tokens of threads the library did not start; their liveness is unknown. */
const FOREIGN = 1 << 29;
/** The bits a token may use: lock words keep their own flags above. */
export const TOKEN_MASK = (1 << 30) - 1;

// Header: [allocation hint]. Entries of 16 words: token (0 = free, -1 = being claimed), last
// generation issued, parent's token (0 for the main thread), pid, name length, name (22 UTF-16 units).
const HEADER = 16;
const ENTRY = 16;
const TOKEN = 0;
const GEN = 1;
const PARENT = 2;
const PID = 3;
const NAME_LENGTH = 4;
const NAME = 5;
const NAME_UNITS = (ENTRY - NAME) * 2;
const CLAIMING = -1;
/** Parents deeper than this are not checked (a chain of processes this long does not happen). */
const MAX_DEPTH = 64;

/** What a child needs to take its place in the table: the table and its own token. */
export interface LivenessSeat {
  readonly table: SharedArrayBuffer;
  readonly token: number;
}

interface LivenessState {
  /** The table this thread's own token lives in. */
  table: Int32Array | null;
  token: number;
  /**
   * The table shared across processes: this thread's own table in a process child (or its threads);
   * made on first need by a program's main thread; `null` elsewhere (`undefined`: not made yet).
   */
  processTable: Int32Array | null | undefined;
}

// Every copy of the library loaded in one thread stores the same token in locks.
const state = perThread<LivenessState>('liveness', () =>
  isMainThread ? createTable() : { table: null, token: FOREIGN | (threadId & (FOREIGN - 1)), processTable: null },
);

const TABLE_BYTES = (HEADER + SLOTS * ENTRY) * 4;

function createTable(): LivenessState {
  // This OS process's threads: they all map this buffer (process children use the shared table).
  const table = new Int32Array(allocateShared(TABLE_BYTES, { startMethod: 'thread' }));
  const token = (1 << SLOT_BITS) | 0;
  fill(table, 0, 0, 'MainProcess', process.pid);
  table[HEADER + GEN] = 1;
  Atomics.store(table, HEADER + TOKEN, token);
  return { table, token, processTable: undefined };
}

/**
 * The table shared across processes, made by a program's main thread when it first starts a process
 * child; `null` if this thread has none and may not make one (a worker thread: a second table would
 * issue the same tokens), or if the native addon cannot share memory.
 */
function processTableOf(current: LivenessState): Int32Array | null {
  if (current.processTable !== undefined) return current.processTable;
  try {
    // Slot 0 stays unused: a process child's entry names no parent in this table (see enterChild).
    current.processTable = new Int32Array(allocateShared(TABLE_BYTES, { startMethod: 'process' }));
  } catch {
    current.processTable = null; // no addon: process children keep their own tables, as nothing is shared
  }
  return current.processTable;
}

/** The table `token` lives in, as this thread sees it (`null`: none it can read). */
function tableOf(token: number): Int32Array | null {
  const current = state();
  if ((token & PROCESS_TABLE) === 0) return current.table === current.processTable ? null : current.table;
  return current.processTable ?? null;
}

function fill(table: Int32Array, slot: number, parent: number, name: string, pid: number): void {
  const base = HEADER + slot * ENTRY;
  table[base + PARENT] = parent;
  table[base + PID] = pid;
  const units = Math.min(name.length, NAME_UNITS);
  table[base + NAME_LENGTH] = units;
  for (let i = 0; i < units; i += 2) {
    table[base + NAME + (i >> 1)] = name.charCodeAt(i) | ((i + 1 < units ? name.charCodeAt(i + 1) : 0) << 16);
  }
}

/** This thread's owner token (nonzero, at most `TOKEN_MASK`). */
export function ownToken(): number {
  return state().token;
}

// Who keeps a copy of the token (the lock modules, on their hot path): told now, and again on adoption.
const tokenHolders = perThread<((token: number) => void)[]>('tokenHolders', () => []);

/** Calls `keep` with this thread's token now, and again if a child's bootstrap adopts another one. */
export function onOwnToken(keep: (token: number) => void): void {
  tokenHolders().push(keep);
  keep(ownToken());
}

/**
 * Takes this thread's place in the table from its start message. Called by the child's bootstrap
 * before any of the child's code runs, so before anything can take a lock (the library's modules
 * may have loaded already: in the built bundle they all load with the bootstrap).
 */
export function adoptSeat(seat: LivenessSeat | undefined): void {
  if (seat === undefined) return;
  const table = new Int32Array(seat.table);
  state.set({ table, token: seat.token, processTable: (seat.token & PROCESS_TABLE) !== 0 ? table : null });
  for (const keep of tokenHolders()) keep(seat.token);
  // A child that ends by its own hand (its target returned or threw, `process.exit`) says so itself, as
  // its last act: its parent would see the exit on its event loop only, which a parent blocked in
  // `lock.acquire()` on a lock the child died holding never turns.
  process.once('exit', () => markDead(seat.token));
}

/**
 * Whether the process holding `token` may still be alive. False only when the table says it is not
 * (its entry was freed or reused, or one of its parents is dead); a foreign token, or any token in a
 * thread that has no table, counts as alive.
 */
export function isAlive(token: number): boolean {
  if ((token & FOREIGN) !== 0) return true;
  const table = tableOf(token);
  if (table === null) return true;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const base = HEADER + (token & SLOT_MASK) * ENTRY;
    if (Atomics.load(table, base + TOKEN) !== token) return false;
    token = Atomics.load(table, base + PARENT);
    if (token === 0) return true;
  }
  return true;
}

/** Whether this thread can learn that `token`'s process died (a waiter then sleeps in slices). */
export function canWatch(token: number): boolean {
  return (token & FOREIGN) === 0 && token !== 0 && tableOf(token) !== null;
}

/** `'Process-3 (pid 1234)'`, for messages about a holder; the entry outlives the process until reused. */
export function describeToken(token: number): string {
  if ((token & FOREIGN) !== 0) return `thread ${token & (FOREIGN - 1)}`;
  const table = tableOf(token);
  if (table === null) return `process with token ${token}`;
  const base = HEADER + (token & SLOT_MASK) * ENTRY;
  if (Atomics.load(table, base + GEN) !== (token & ~PROCESS_TABLE) >>> SLOT_BITS) return `process with token ${token}`;
  let name = '';
  const units = table[base + NAME_LENGTH];
  for (let i = 0; i < units; i++) {
    const word = table[base + NAME + (i >> 1)];
    name += String.fromCharCode((i & 1) === 0 ? word & 0xffff : word >>> 16);
  }
  return `${name} (pid ${table[base + PID]})`;
}

/**
 * Claims a slot for a child about to start and returns its seat, or `undefined` when this thread has
 * no table for it or the table is full (the child then gets a foreign token, or a table of its own:
 * its locks are not recovered). A process child (`acrossProcesses`) takes its seat in the table shared
 * across processes; its pid is recorded once known (`recordPid`).
 */
export function enterChild(name: string, acrossProcesses = false, pid: number = process.pid): LivenessSeat | undefined {
  const current = state();
  const table = acrossProcesses ? processTableOf(current) : current.table;
  if (table === null) return undefined;
  // The parent's entry is in the same table, or in none this child can read (then the child is a root).
  const parent = table === current.table ? current.token : 0;
  const flag = table === current.processTable ? PROCESS_TABLE : 0;
  const hint = Atomics.add(table, 0, 1);
  for (let n = 0; n < SLOTS; n++) {
    const slot = ((hint + n) & SLOT_MASK) || 1; // slot 0 is the main thread's
    const base = HEADER + slot * ENTRY;
    const current = Atomics.load(table, base + TOKEN);
    if (current === CLAIMING || (current !== 0 && isAlive(current))) continue;
    // Free, or an orphan whose parent died without marking it: claim it before writing the entry.
    if (Atomics.compareExchange(table, base + TOKEN, current, CLAIMING) !== current) continue;
    const generation = (table[base + GEN] % GENERATIONS) + 1;
    table[base + GEN] = generation;
    const token = flag | (generation << SLOT_BITS) | slot;
    fill(table, slot, parent, name, pid);
    Atomics.store(table, base + TOKEN, token);
    return { table: table.buffer as SharedArrayBuffer, token };
  }
  return undefined;
}

// Who receives what is being packed now: a child about to start, while `spawn.ts` packs its start
// message. A handle counted per holder (a pipe end) is counted as the child's from the moment it is
// packed, so a child killed before it has revived its copy lets the handle go with it.
const receiving = perThread<{ token: number | undefined }>('receiving', () => ({ token: undefined }));

/** Runs `pack` with `token` (a child's, `undefined`: none known) as the receiver of what it packs. */
export function packingFor<T>(token: number | undefined, pack: () => T): T {
  const current = receiving();
  const outer = current.token;
  current.token = token;
  try {
    return pack();
  } finally {
    current.token = outer;
  }
}

/**
 * The process that holds a handle being packed until it is revived: the child about to start (see
 * `packingFor`), else this thread, which passes it on when the receiver revives it.
 */
export function packingHolder(): number {
  return receiving().token ?? ownToken();
}

/** Marks the process holding `token` dead (its parent saw it exit). Idempotent. */
export function markDead(token: number): void {
  if ((token & FOREIGN) !== 0) return;
  const table = tableOf(token);
  if (table === null) return;
  Atomics.compareExchange(table, HEADER + (token & SLOT_MASK) * ENTRY + TOKEN, token, 0);
}

/** Records the OS pid of the child holding `token` (a process child's is known once it has started). */
export function recordPid(token: number, pid: number): void {
  const table = tableOf(token);
  if (table !== null && Atomics.load(table, HEADER + (token & SLOT_MASK) * ENTRY + TOKEN) === token) {
    table[HEADER + (token & SLOT_MASK) * ENTRY + PID] = pid;
  }
}
