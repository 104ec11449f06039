/**
 * The messages between a driver (`Pool`) and the worker command, through Redis.
 *
 * - Tasks travel as BullMQ jobs in the namespace's `tasks` queue, one task or a bundle of tiny ones
 *   per job (the driver's choice, see executor.ts). A job's data is JSON (BullMQ's), so it holds only
 *   what a worker needs before it may trust the rest: where the results go, the tasks' ids, and the
 *   frame (`codec.ts`, base64) with their envelopes, signed when there is an authkey.
 * - A result is an entry pushed on the driver's result list (never BullMQ's trimmed event stream): the
 *   task's id in clear (so a result that fails its check still settles the right task, with the
 *   `AuthenticationError`), then the frame, signed for that pool and task so it cannot be replayed.
 * - The cancel channel carries the tasks to stop (`terminate()`, an aborted signal), each as its job's id
 *   and its own (`cancelToken`): every worker listens.
 */
import type { Outcome, TaskMode } from '../pool/protocol.js';
import type { SerializedThrow } from '../transport/remote-error.js';
import type { Keys } from './connection.js';

/** The BullMQ queue of a namespace's tasks. */
export const TASKS_QUEUE = 'tasks';

/**
 * The key every worker of a namespace keeps alive while it serves (`SET … PX WORKER_SEEN_TTL`, renewed
 * every third of that): one key for all of them, so a driver tells "no worker" from "busy workers" with
 * one `EXISTS` (and needs no `KEYS`/`SCAN`, which the README's ACL refuses).
 */
export function workerSeenKey(keys: Keys): string {
  return keys.key('worker-seen');
}

/** How long a worker's sign of life lasts in Redis, in ms. */
export const WORKER_SEEN_TTL = 6_000;

/** A job's data, as BullMQ stores it. */
export interface JobData {
  /** The driver's result list. */
  readonly r: string;
  /** The tasks' ids in their pool, in the order of their envelopes. */
  readonly i: readonly number[];
  /** The frame (base64) around the job's body: its tasks' encoded `Envelope`s (see `bundleBody`). */
  readonly f: string;
}

/** How the cancel channel names a task: its job's id and its own. */
export function cancelToken(jobId: string, id: number): string {
  return `${jobId}:${id}`;
}

/** A job's body: each task's encoded envelope, after its length (4 bytes, little-endian). */
export function bundleBody(parts: readonly Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += 4 + part.length;
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const part of parts) {
    body.writeUInt32LE(part.length, at);
    body.set(part, at + 4);
    at += 4 + part.length;
  }
  return body;
}

/** The encoded envelopes of a job's body; a `TypeError` if it is not one `bundleBody` made. */
export function readBundleBody(body: Uint8Array): Uint8Array[] {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < view.length; ) {
    const length = at + 4 <= view.length ? view.readUInt32LE(at) : Infinity;
    if (at + 4 + length > view.length) throw new TypeError('a task bundle ends in the middle of a task: the job was cut or altered');
    parts.push(view.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}

/** What a worker runs (inside the frame). */
export interface Envelope {
  readonly module: string;
  readonly name: string;
  readonly hash: string;
  readonly mode: TaskMode;
  readonly data: unknown;
  /** For a chunk: its first item's index, so errors name the right item. */
  readonly base: number | undefined;
  readonly timeout: number | undefined;
}

/**
 * What comes back: the outcome, its value (a serialized throw for `Failed`: errors keep their class,
 * code and cause), and the milliseconds it ran on the worker.
 */
export type ResultBody = [outcome: Outcome, value: unknown, ranMs: number];
export type FailedValue = SerializedThrow;

/** What a task frame is signed for: tasks of this namespace only. */
export function taskPurpose(keys: Keys): string {
  return `task:${keys.prefix}`;
}

/** What a result frame is signed for: this pool's result list and this task only. */
export function resultPurpose(resultKey: string, id: number): string {
  return `result:${resultKey}:${id}`;
}

/** A result entry: the task's id (8 bytes, little-endian double), then the frame. */
export function resultEntry(id: number, frame: Uint8Array): Buffer {
  const entry = Buffer.allocUnsafe(8 + frame.length);
  entry.writeDoubleLE(id, 0);
  entry.set(frame, 8);
  return entry;
}

export function readResultEntry(entry: Buffer): { readonly id: number; readonly frame: Buffer } {
  return { id: entry.readDoubleLE(0), frame: entry.subarray(8) };
}
