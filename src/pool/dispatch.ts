/**
 * Dispatch policy of the local executor: which queued task goes to which worker, and when. Pure
 * bookkeeping: no threads, no timers, no messages. Given the workers' states (`Slot`), `dispatch` hands
 * batches to a sink, which sends them; results and lost workers come back through `completed`,
 * `release` and `requeue`. So it can be tested without starting a thread (test/pool/dispatch.test.ts).
 *
 * Policy, and why:
 * - Each worker holds a few tasks in flight, more when tasks are quick: pipelining hides the round
 *   trip, and for tiny tasks how many are in flight matters far more than how a worker is signalled.
 *   The depth is sized so that a worker has about `PIPELINE_MS` of work queued behind the running task.
 * - Many queued tasks go to a worker in one message; the queue is split fairly between the workers
 *   that have room, one message per worker per round, so every worker starts before any gets more.
 * - Bytes are bounded as well as counts: large payloads travel in messages of their own, and a worker
 *   holds about `INFLIGHT_BYTES` of cloned payload at most (always at least one task).
 * - A task with a `timeout` or an abort `signal` runs alone on its worker (`exclusive`), so stopping it
 *   means terminating that worker without harming other tasks.
 * - With `maxTasksPerChild`, a worker is sent no more than that many tasks; once they are all done it
 *   is `spent` and the supervisor replaces it.
 * - Once nothing is queued, a worker with a free place (fewer tasks than it runs at once) takes over
 *   tasks another worker holds and has not started (`steal`): a task sent ahead never waits behind a
 *   long one while a worker idles. Which tasks started is known from the workers' claim words
 *   (claims.ts), which also make the taking back safe: the worker skips what was taken, never runs a
 *   task twice. Half of the other worker's unstarted tasks move, at most as many as the idle one
 *   starts at once (for tiny tasks, its in-flight depth less one: a message's worth).
 * - Tasks start in priority order, FIFO among equal priorities, with aging so that none starves
 *   (`pending.ts`: only `enqueue`, `requeue`, `#takeBatch` and `takeAll` touch the queue); a task
 *   finished while still queued (aborted) stays in the queue, uncounted, and is skipped when reached.
 * - The queue itself is unbounded: a pool's `maxQueue` refuses `apply` calls above the executor
 *   (pool.ts), reading `pending`, because `map` and `imap` chunks are never refused.
 */
import { misuse } from '../errors.js';
import type { Timer } from '../timeout.js';
import { wireKey, type WireFunction } from '../transport/wire-function.js';
import type { Claims } from './claims.js';
import type { ScheduledTask, Transferred } from './executor.js';
import { Fifo } from './fifo.js';
import { keyOf, PendingQueue } from './pending.js';

/** A submitted task with what the policy needs to know about it. */
export interface Entry {
  /** Unique per executor; results name it. */
  readonly id: number;
  /** Its place in the queue: see `keyOf` (pending.ts). */
  readonly key: number;
  /** When it was queued (`performance.now()` as the executor read it), for its wait time. */
  readonly queuedAt: number;
  readonly task: ScheduledTask;
  /** See `Dispatcher.functionId`. */
  readonly fnId: number;
  /** Runs alone on its worker (it has a `timeout` or a `signal`). */
  readonly exclusive: boolean;
  /** Roughly how many bytes its data costs to clone (see `cloneBytes`). */
  readonly bytes: number;
  /** Settled (or being stopped): never sent again, skipped when reached in the queue. */
  done: boolean;
  /** Its number on the worker holding it (`Claims.next`), so that worker's claim word says whether it started. */
  seq: number;
  /** The executor's: its wait time is recorded (it started, as far as the executor can tell). */
  waited: boolean;
  /** The executor's: its timeout, once it runs. */
  timer?: Timer;
  /** The executor's: removes its abort listener. */
  unlisten?: () => void;
}

/**
 * What the policy reads and writes of one worker. The supervisor's worker record carries these fields
 * (see `freshSlot`); the policy needs nothing else of it.
 */
export interface Slot {
  /** Sent and not yet answered, in the order the worker starts them (tasks run at once may finish in another). */
  readonly inflight: Fifo<Entry>;
  /** Sum of `bytes` over `inflight`. */
  inflightBytes: number;
  /** Functions this worker has been sent (by `fnId`): each is defined once per worker. */
  readonly known: Set<number>;
  /** Tasks sent to it so far (for `maxTasksPerChild`). */
  tasksSent: number;
  /** Its claim word (claims.ts): which of the tasks it was sent have started. None without shared memory. */
  readonly claims: Claims | undefined;
  /** Running a task that must run alone. */
  exclusive: boolean;
  /** Leaving (retired, stopped, terminated): takes no more tasks. */
  leaving: boolean;
  /** Scratch of `dispatch`: how many more tasks this worker may take in the current round. */
  share: number;
}

/** The policy fields of a new worker, which claims its tasks in `claims`. */
export function freshSlot(claims?: Claims): Slot {
  return { inflight: new Fifo<Entry>(), inflightBytes: 0, known: new Set(), tasksSent: 0, claims, exclusive: false, leaving: false, share: 0 };
}

/**
 * Sends a batch taken for `slot` (in queue order, never empty). The sink reports what it could send
 * through `Dispatcher.sent` before it returns.
 */
export type BatchSink<S extends Slot> = (slot: S, batch: Entry[]) => void;

// Tasks are sized so that a worker has about this much work queued behind the running one.
const PIPELINE_MS = 2;
const MAX_IN_FLIGHT = 1024;
// A message of tasks carries about this many bytes of payload at most (one task may carry more).
export const BATCH_BYTES = 256 * 1024;
// A worker holds at most this many bytes of cloned payload in flight (and always at least one task):
// one large payload at a time, several smaller ones. Each payload still in flight holds its serialized
// copy in fresh memory on the parent's side; bounded, the parent reuses that memory instead of
// faulting in new pages (W6, 64 × 1 MiB copied: about 28 ms, as the peers that keep one task in flight
// per worker, against 31 ms with every task sent at once). Transferred buffers are not counted.
export const INFLIGHT_BYTES = 1024 * 1024;

/**
 * What cloning a task's data costs, roughly: the bytes of the buffers among its top-level values that
 * are neither shared nor transferred.
 */
export function cloneBytes(data: unknown, transfer: readonly Transferred[] | undefined, depth = 0): number {
  if (ArrayBuffer.isView(data)) {
    const buffer = data.buffer;
    return buffer instanceof SharedArrayBuffer || transfer?.includes(buffer) ? 0 : data.byteLength;
  }
  if (data instanceof ArrayBuffer) return transfer?.includes(data) ? 0 : data.byteLength;
  if (!Array.isArray(data)) return 0;
  let bytes = data.length * 8;
  if (data.length <= 16 && depth < 2) for (const item of data) bytes += cloneBytes(item, transfer, depth + 1);
  return bytes;
}

export class Dispatcher<S extends Slot> {
  readonly #maxTasksPerChild: number | null;
  readonly #sink: BatchSink<S>;
  readonly #pending = new PendingQueue<Entry>(1024);
  #pendingCount = 0;
  #inflightCount = 0;
  #nextId = 1;
  readonly #functionIds = new Map<string, number>();
  readonly #idOfWire = new WeakMap<WireFunction, number>();
  readonly #functions: WireFunction[] = [];
  #averageTaskMs: number | undefined;
  readonly #minInflight: number;
  readonly #atOnce: number;

  /** `atOnce`: how many tasks a worker may run at once; it is then kept one more than that in flight. */
  constructor(maxTasksPerChild: number | null, sink: BatchSink<S>, atOnce = 1) {
    this.#maxTasksPerChild = maxTasksPerChild;
    this.#sink = sink;
    this.#minInflight = Math.max(2, atOnce + 1);
    this.#atOnce = atOnce;
  }

  /** Queued tasks not yet sent (finished ones left in the queue are not counted). */
  get pending(): number {
    return this.#pendingCount;
  }

  /** Tasks sent and not yet answered, over all workers. */
  get inflight(): number {
    return this.#inflightCount;
  }

  /** Queues a task in its priority's place (the back, for equal priorities); `now` is its `queuedAt`. */
  enqueue(task: ScheduledTask, now = 0): Entry {
    const id = this.#nextId++;
    const entry: Entry = {
      id,
      key: keyOf(id, task.priority ?? 0),
      queuedAt: now,
      task,
      fnId: this.functionId(task.fn),
      exclusive: task.timeout !== undefined || (task.signal !== undefined && task.interruptible !== true),
      bytes: cloneBytes(task.data, task.transfer),
      done: false,
      seq: 0,
      waited: false,
    };
    this.#pending.push(entry);
    this.#pendingCount += 1;
    return entry;
  }

  /** Puts tasks that never started back in the queue, to go next (before later tasks of their priority). */
  requeue(entries: readonly Entry[]): void {
    this.#pending.requeue(entries);
    this.#pendingCount += entries.length;
  }

  /** A queued task was finished before it was sent (abort, timeout): it no longer counts. */
  forget(entry: Entry): void {
    if (entry.done) this.#pendingCount -= 1;
  }

  /** The worker among `slots` running `entry` alone, if it is running. */
  runningAlone(entry: Entry, slots: Iterable<S>): S | undefined {
    for (const slot of slots) if (slot.exclusive && slot.inflight.peek() === entry) return slot;
    return undefined;
  }

  /** The worker among `slots` that holds `entry` (sent, not answered), if any. */
  holding(entry: Entry, slots: Iterable<S>): S | undefined {
    for (const slot of slots) if (slot.inflight.includes(entry)) return slot;
    return undefined;
  }

  /**
   * A small id for `fn`, the same for every wire object of the same function: a worker is sent each
   * function once (`define`), then tasks name it by id.
   */
  functionId(fn: WireFunction): number {
    // The same wire object comes back for every call of one function (toWireFunction caches it):
    // remembering its id spares building and hashing its key (its whole source text) per task.
    const known = this.#idOfWire.get(fn);
    if (known !== undefined) return known;
    const key = wireKey(fn);
    let id = this.#functionIds.get(key);
    if (id === undefined) {
      id = this.#functions.length;
      this.#functions.push(fn);
      this.#functionIds.set(key, id);
    }
    this.#idOfWire.set(fn, id);
    return id;
  }

  /** The function `functionId` gave `id`. */
  functionAt(id: number): WireFunction {
    return this.#functions[id]!;
  }

  /** A worker spent `busyMs` running `count` tasks: the in-flight depth follows the average. */
  recordBusy(busyMs: number, count: number): void {
    if (busyMs <= 0 || count <= 0) return;
    const perTask = busyMs / count;
    this.#averageTaskMs = this.#averageTaskMs === undefined ? perTask : this.#averageTaskMs * 0.7 + perTask * 0.3;
  }

  /** How many tasks a worker may hold in flight now. */
  inflightLimit(): number {
    const average = this.#averageTaskMs;
    const least = this.#minInflight;
    if (average === undefined) return least;
    // Even long tasks keep one queued behind the running ones: on a busy machine the parent may take a
    // scheduler time slice to answer, and the worker must not sit idle meanwhile.
    if (average >= PIPELINE_MS) return least;
    return Math.min(MAX_IN_FLIGHT, Math.max(least, Math.ceil(PIPELINE_MS / average)));
  }

  /** Hands queued tasks to the workers among `slots` that have room (see the module header). */
  dispatch(slots: Iterable<S>): void {
    if (this.#pendingCount === 0) return;
    const limit = this.inflightLimit();
    let candidates = 0;
    for (const slot of slots) if (!slot.leaving && !slot.exclusive) candidates += 1;
    const fairShare = Math.ceil(this.#pendingCount / Math.max(1, candidates));
    for (const slot of slots) slot.share = slot.leaving || slot.exclusive ? 0 : Math.min(limit - slot.inflight.size, fairShare);
    // One message per worker per round: with large payloads split into several messages, every worker
    // gets its first one before any worker gets the rest of its share.
    for (let sent = true; sent && this.#pendingCount > 0; ) {
      sent = false;
      for (const slot of slots) {
        if (slot.share <= 0 || slot.exclusive) continue;
        const batch = this.#takeBatch(slot, slot.share);
        slot.share = batch.length === 0 ? 0 : slot.share - batch.length;
        if (batch.length === 0) continue;
        this.#sink(slot, batch);
        sent = true;
      }
    }
  }

  /** Takes up to `share` queued tasks for one message to `slot` (fewer once they carry `BATCH_BYTES`). */
  #takeBatch(slot: S, share: number): Entry[] {
    const batch: Entry[] = [];
    const max = this.#maxTasksPerChild;
    let bytes = 0;
    while (batch.length < share) {
      const head = this.#pending.peek();
      if (head === undefined) break;
      if (head.done) {
        this.#pending.shift();
        continue;
      }
      if (max !== null && slot.tasksSent + batch.length >= max) break;
      if (head.exclusive) {
        // Runs alone: only on a worker with nothing else in flight.
        if (batch.length > 0 || slot.inflight.size > 0) break;
        this.#pending.shift();
        batch.push(head);
        slot.exclusive = true;
        break;
      }
      // Large payloads go in messages of their own, so the worker starts on the first while the next
      // ones are still being copied.
      if (batch.length > 0 && bytes + head.bytes > BATCH_BYTES) break;
      if ((batch.length > 0 || slot.inflight.size > 0) && slot.inflightBytes + bytes + head.bytes > INFLIGHT_BYTES) break;
      this.#pending.shift();
      batch.push(head);
      bytes += head.bytes;
    }
    this.#pendingCount -= batch.length;
    return batch;
  }

  /**
   * The sink sent `entries` (all of its batch, or those that could be cloned; the others it finished):
   * they are in flight on `slot` now.
   */
  sent(slot: S, entries: readonly Entry[]): void {
    const claims = slot.claims;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (claims !== undefined) entry.seq = claims.next();
      slot.inflight.push(entry);
      slot.inflightBytes += entry.bytes;
    }
    // An exclusive task is a batch of its own: if it could not be sent, the worker is free again.
    if (entries.length === 0) slot.exclusive = false;
    this.#inflightCount += entries.length;
    slot.tasksSent += entries.length;
  }

  /**
   * Moves tasks sent ahead and not started to workers with a free place, once nothing is queued (see
   * the module header): each such worker takes over, through the sink, up to half of the tasks waiting
   * behind others on the worker where most wait (the ones it would have started next), as many as it
   * can start.
   * Returns the workers tasks were taken from, if any (one may be left with none: idle).
   */
  steal(slots: Iterable<S>): S[] | undefined {
    if (this.#pendingCount > 0) return undefined;
    let robbed: S[] | undefined;
    const max = this.#maxTasksPerChild;
    for (const thief of slots) {
      if (thief.leaving || thief.exclusive || thief.inflight.size >= this.#atOnce) continue;
      let victim: S | undefined;
      let most = 0;
      for (const slot of slots) {
        const claims = slot.claims;
        if (slot === thief || slot.leaving || slot.exclusive || claims === undefined) continue;
        // Tasks it will start as soon as they reach it (it has places free for them: a message on its
        // way, say) do not wait: taking them back would only send them twice.
        const unstarted = claims.numbered - claims.claimed();
        const free = Math.max(0, this.#atOnce - (slot.inflight.size - unstarted));
        if (unstarted - free <= most) continue;
        victim = slot;
        most = unstarted - free;
      }
      if (victim === undefined) break;
      // No more than it starts at once (one less than its depth): a task taken back to wait behind
      // another on the thief would be the same fault again. Tiny tasks have a deeper depth.
      let room = Math.min(Math.ceil(most / 2), this.inflightLimit() - 1 - thief.inflight.size);
      if (max !== null) room = Math.min(room, max - thief.tasksSent);
      if (room <= 0) continue;
      const taken = this.#takeBack(victim, room);
      if (taken.length === 0) continue;
      (robbed ??= []).push(victim);
      this.#sink(thief, taken);
    }
    return robbed;
  }

  /** Takes back up to `count` of the tasks `slot` would start next, if it has not claimed them yet. */
  #takeBack(slot: S, count: number): Entry[] {
    const claims = slot.claims!;
    // Twice at most: the worker may claim a task between the read and the swap.
    for (let attempt = 0; attempt < 2; attempt++) {
      const from = claims.claimed();
      // The unclaimed tasks follow the claimed ones still unanswered, numbered from `from` on without a gap.
      let start = 0;
      while (start < slot.inflight.size && slot.inflight.at(start)!.seq < from) start++;
      let n = 0;
      // A task whose buffers moved into the worker cannot be sent again.
      while (n < count && start + n < slot.inflight.size && slot.inflight.at(start + n)!.task.transfer === undefined) n++;
      if (n === 0 || slot.inflight.at(start)!.seq !== from) return [];
      if (!claims.takeBack(from, n)) continue;
      const taken = slot.inflight.splice(start, n);
      for (const entry of taken) slot.inflightBytes -= entry.bytes;
      slot.tasksSent -= n;
      this.#inflightCount -= n;
      return taken.filter((entry) => !entry.done);
    }
    return [];
  }

  /**
   * The worker answered task `id`: the oldest it holds, unless it runs several at once
   * (`concurrentTasksPerWorker`), which finish in any order.
   */
  completed(slot: S, id: number): Entry {
    const inflight = slot.inflight;
    let entry = inflight.peek();
    if (entry?.id === id) {
      inflight.shift();
    } else {
      let at = 1;
      while (at < inflight.size && inflight.at(at)!.id !== id) at++;
      if (at >= inflight.size) throw misuse(Error, 'ERR_MP_INTERNAL', `pool protocol error: result ${id} for a task its worker does not hold`);
      entry = inflight.splice(at, 1)[0]!;
    }
    this.#inflightCount -= 1;
    slot.inflightBytes -= entry.bytes;
    if (entry.exclusive) slot.exclusive = false;
    return entry;
  }

  /** Whether `slot` has run its `maxTasksPerChild` and holds nothing more: it should be replaced. */
  spent(slot: S): boolean {
    const max = this.#maxTasksPerChild;
    return max !== null && slot.tasksSent >= max && slot.inflight.size === 0;
  }

  /** Empties `slot` (its worker is gone): the unfinished tasks it held, oldest first. */
  release(slot: S): Entry[] {
    const all = slot.inflight.drain();
    this.#inflightCount -= all.length;
    slot.inflightBytes = 0;
    return all.filter((entry) => !entry.done);
  }

  /** Empties the queue and every slot: the unfinished tasks, queued ones first. */
  takeAll(slots: Iterable<S>): Entry[] {
    const all = this.#pending.drain();
    this.#pendingCount = 0;
    for (const slot of slots) {
      for (const entry of slot.inflight.drain()) all.push(entry);
      slot.inflightBytes = 0;
    }
    this.#inflightCount = 0;
    return all.filter((entry) => !entry.done);
  }
}
