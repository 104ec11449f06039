/**
 * The messages between a driver (`Pool`) and the worker command, through Redis.
 *
 * - A task is a BullMQ job in the namespace's `tasks` queue. Its data is JSON (BullMQ's), so it holds
 *   only what a worker needs before it may trust the rest: where the result goes, the task's id, and the
 *   frame (`codec.ts`, base64) with the envelope, signed when there is an authkey.
 * - A result is an entry pushed on the driver's result list (never BullMQ's trimmed event stream): the
 *   task's id in clear (so a result that fails its check still settles the right task, with the
 *   `AuthenticationError`), then the frame, signed for that pool and task so it cannot be replayed.
 * - The cancel channel carries job ids to stop (`terminate()`, an aborted signal): every worker listens.
 */
import type { Outcome, TaskMode } from '../pool/protocol.js';
import type { SerializedThrow } from '../transport/remote-error.js';
import type { Keys } from './connection.js';

/** The BullMQ queue of a namespace's tasks. */
export const TASKS_QUEUE = 'tasks';

/** A job's data, as BullMQ stores it. */
export interface JobData {
  /** The driver's result list. */
  readonly r: string;
  /** The task's id in its pool. */
  readonly i: number;
  /** The frame (base64) around the encoded `Envelope`. */
  readonly f: string;
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
