/**
 * How `multiprocessing/distributed` reaches Redis: the URL (checked, and shown without its password in
 * every message), the namespace's keys, and the one factory of ioredis connections.
 *
 * - `ioredis` and `bullmq` are optional peer dependencies, so the core package never loads them: they
 *   are imported at the first connection (`peers.ts`, which also says what to install when they are missing).
 * - Fail fast, then reconnect: a connection that cannot be opened within `CONNECT_TIMEOUT` rejects with
 *   a `ConnectionError` naming the URL (no retry loop behind the caller's back); once open, ioredis
 *   reconnects with a capped backoff, and the driver decides what an outage means for its tasks.
 * - Keys: everything of a namespace lives under `mp:{<namespace>}:`. The braces are a Redis Cluster hash
 *   tag, so one namespace's keys share a slot (BullMQ's Lua scripts and ours touch several at once).
 */
import type { Redis, RedisOptions } from 'ioredis';
import { ConnectionError, describeValue, misuse } from '../errors.js';
import { peer } from './peers.js';

/** A checked Redis URL. */
export interface RedisTarget {
  /** As given: what ioredis connects to. */
  readonly url: string;
  /** The URL without its password: what messages show. */
  readonly shown: string;
}

/**
 * Checks `url` (`redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS).
 *
 * @example `parseRedisUrl('redis://:secret@10.0.0.5:6379/0').shown // 'redis://:***@10.0.0.5:6379/0'`
 */
export function parseRedisUrl(url: unknown): RedisTarget {
  if (typeof url !== 'string') {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `url must be a Redis URL such as 'redis://127.0.0.1:6379', not ${describeValue(url)}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `url must be a Redis URL such as 'redis://127.0.0.1:6379', not ${describeValue(url)}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw misuse(
      TypeError,
      'ERR_MP_INVALID_ARG',
      `url must start with redis:// (or rediss:// for TLS), not ${parsed.protocol}//: multiprocessing/distributed runs on Redis`,
    );
  }
  if (parsed.password !== '') parsed.password = '***';
  return { url, shown: parsed.href };
}

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a namespace: 1–64 letters, digits, `_`, `.` or `-` (it goes into key names). Default `'default'`.
 * Drivers and workers of one cluster use the same namespace; different ones never see each other's work.
 */
export function checkNamespace(namespace: unknown): string {
  if (namespace === undefined) return 'default';
  if (typeof namespace !== 'string' || !NAMESPACE.test(namespace)) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `namespace must be 1–64 letters, digits, '_', '.' or '-', not ${describeValue(namespace)}`);
  }
  return namespace;
}

/**
 * The keys of one namespace. `prefix` is also BullMQ's prefix, so its queues live under the same tag.
 *
 * @example `keysOf('jobs').key('res', poolId) // 'mp:{jobs}:res:<poolId>'`
 */
export interface Keys {
  readonly namespace: string;
  /** `mp:{<namespace>}` */
  readonly prefix: string;
  /** `mp:{<namespace>}:<parts joined by ':'>` */
  key(...parts: string[]): string;
}

export function keysOf(namespace: string): Keys {
  const prefix = `mp:{${namespace}}`;
  return { namespace, prefix, key: (...parts) => `${prefix}:${parts.join(':')}` };
}

/** Milliseconds a first connection may take before it fails with `ConnectionError`. */
export const CONNECT_TIMEOUT = 3_000;
/** Once connected, the longest wait between reconnection attempts (ioredis backs off up to this). */
const MAX_RECONNECT_DELAY = 2_000;

/**
 * What a connection is for:
 * - `command`: a driver's commands; while disconnected they fail at once instead of queueing, so a
 *   driver never waits on an outage it is not told about;
 * - `blocking`: `BLPOP` and BullMQ workers; commands queue while reconnecting and never time out.
 */
export type ConnectionRole = 'command' | 'blocking';

/**
 * Opens a connection, or rejects within `CONNECT_TIMEOUT` with a `ConnectionError` naming the URL.
 *
 * @example `const redis = await connect(parseRedisUrl('redis://127.0.0.1:6379'), 'command', 'mp-driver');`
 */
export async function connect(target: RedisTarget, role: ConnectionRole, name: string): Promise<Redis> {
  const { Redis } = await peer<typeof import('ioredis')>('ioredis');
  const options: RedisOptions = {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: CONNECT_TIMEOUT,
    // No retries until the first connection is made: an unreachable URL fails fast (set below after).
    retryStrategy: () => null,
    enableOfflineQueue: role === 'blocking',
    maxRetriesPerRequest: role === 'blocking' ? null : 0,
  };
  const redis = new Redis(target.url, options);
  // ioredis emits 'error' for every failed attempt; the caller learns of failures through its commands.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new ConnectionError(
      `cannot connect to Redis at ${target.shown}: ${(cause as Error)?.message ?? String(cause)}. ` +
        `Is redis-server running there, and does the URL (host, port, password, redis:// or rediss://) match it?`,
      { cause },
    );
  }
  // From now on ioredis reconnects, backing off up to MAX_RECONNECT_DELAY.
  redis.options.retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY);
  return redis;
}

/**
 * Redis's `run_id`: a new one after every restart, which is how a driver tells "Redis came back empty"
 * from "the network blinked".
 */
export async function runIdOf(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  const match = /run_id:([0-9a-f]+)/.exec(info);
  if (match === null) throw new ConnectionError('Redis answered INFO server without a run_id');
  return match[1]!;
}
