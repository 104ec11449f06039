/**
 * The Redis connections of the distributed shared objects (`Lock`, `Queue`, `Value`…), per thread and
 * per URL: one connection for ordinary commands, and a free list of connections for blocking commands
 * (`BLPOP` holds its connection until it returns, so two waits never share one).
 *
 * The program's life: an open socket keeps Node's event loop alive, and these connections stay open
 * for the program's whole run, so left alone they would keep every program that touched a `Lock` alive
 * for ever. So a connection's socket is referenced only while a command that must finish is in flight
 * (`run`): a `value.getAsync()` at the end of a script still returns, and a program whose last wait is
 * a `queue.getAsync()` with no deadline exits, as a local queue's does (`runtime/futex.ts`'s rule: a
 * wait with a deadline keeps the program alive, one without does not).
 *
 * Scripts: each Lua script is loaded once per connection with ioredis's `defineCommand`, which sends
 * `EVALSHA` and falls back to `EVAL` after a restart of Redis emptied its script cache.
 */
import type { Redis as RedisClient } from 'ioredis';
import { ConnectionError } from '../../errors.js';
import { connect, type ConnectionRole, type RedisTarget } from '../connection.js';

/** A Lua script of this module's users: its source and how many of its arguments are keys. */
export interface Script {
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

type Socket = { ref?: () => void; unref?: () => void };

/** A connection (once open) and how many commands that must finish are using it. */
export class Link {
  readonly #redis: Promise<RedisClient>;
  #holds = 0;
  #socket: Socket | undefined;
  readonly #defined = new Set<string>();

  readonly #target: RedisTarget;

  constructor(target: RedisTarget, role: ConnectionRole, onFailure: () => void) {
    this.#target = target;
    this.#redis = connect(target, role, `mp-objects-${role}`).then((redis) => {
      const track = (): void => {
        this.#socket = (redis as unknown as { stream?: Socket }).stream;
        this.#applyRef();
      };
      redis.on('connect', track);
      // While Redis is away, ioredis retries on a timer: only a command waiting for it keeps the
      // program alive meanwhile. (The timer is set just before this event is emitted.)
      redis.on('reconnecting', () => {
        if (this.#holds === 0) (redis as unknown as { reconnectTimeout?: Socket | null }).reconnectTimeout?.unref?.();
      });
      track();
      return redis;
    });
    // A connection that could not be opened is forgotten, so the next command tries again.
    this.#redis.catch(onFailure);
  }

  /** The open connection (rejects with a `ConnectionError` if it could not be opened). */
  get redis(): Promise<RedisClient> {
    return this.#redis;
  }

  /**
   * Runs `command`; with `keepAlive` the socket is referenced meanwhile, so the program waits for the
   * reply (see the module notes).
   */
  async run<T>(command: (redis: RedisClient) => Promise<T>, keepAlive = true): Promise<T> {
    if (keepAlive) this.#hold(1);
    try {
      return await command(await this.#redis);
    } catch (error) {
      throw this.#explained(error);
    } finally {
      if (keepAlive) this.#hold(-1);
    }
  }

  /**
   * Runs a Lua script (`EVALSHA`, loading it on first use). With `buffers`, string replies come back
   * as `Buffer`s (a queue's items).
   */
  script<T>(script: Script, keys: readonly string[], args: readonly (string | number | Buffer)[], keepAlive = true, buffers = false): Promise<T> {
    return this.run((redis) => {
      if (!this.#defined.has(script.name)) {
        redis.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua });
        this.#defined.add(script.name);
      }
      const call = (redis as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[buffers ? `${script.name}Buffer` : script.name]!;
      return call.call(redis, ...keys, ...args);
    }, keepAlive);
  }

  /** Closes the connection (a blocking command on it rejects). */
  close(): void {
    void this.#redis.then((redis) => redis.disconnect(), () => {});
  }

  // A command that failed for want of a connection (Redis down or restarting: command connections fail
  // at once rather than queue, `connection.ts`) becomes a ConnectionError naming the URL. Redis's own
  // replies (a script's error) and the library's errors pass as they are.
  #explained(error: unknown): unknown {
    if (!(error instanceof Error) || error.name === 'ReplyError' || error instanceof ConnectionError || ('code' in error && String(error.code).startsWith('ERR_MP_'))) {
      return error;
    }
    return new ConnectionError(
      `lost the connection to Redis at ${this.#target.shown} (${error.message}); it reconnects by itself: try again, ` +
        `and if Redis restarted without persistence, the distributed objects it held are gone`,
      { cause: error },
    );
  }

  #hold(delta: number): void {
    this.#holds += delta;
    if (this.#holds <= 1) this.#applyRef();
  }

  #applyRef(): void {
    if (this.#holds > 0) this.#socket?.ref?.();
    else this.#socket?.unref?.();
  }
}

interface Endpoint {
  readonly target: RedisTarget;
  readonly commands: Link;
  readonly idle: Link[];
  subscriber?: Link;
}

const endpoints = new Map<string, Endpoint>();

/** The connection for ordinary commands to `target` in this thread. */
export function commandLink(target: RedisTarget): Link {
  return endpoint(target).commands;
}

/** The connection in subscriber mode to `target` in this thread (pub/sub needs one of its own). */
export function subscriberLink(target: RedisTarget): Link {
  const place = endpoint(target);
  return (place.subscriber ??= new Link(target, 'blocking', () => {
    if (endpoints.get(target.url) === place) place.subscriber = undefined;
  }));
}

// How much later than its own timeout a blocking command may answer before Redis counts as unresponsive.
export const BLOCKING_GRACE = 5_000;

/**
 * Runs `wait`, a blocking command with a timeout of `ms` (`Infinity`: none), on a connection of its
 * own. Aborting `signal` closes that connection, which is the only way to take back a `BLPOP`, and
 * rejects with `signal.reason`. A command that outlives its own timeout by `BLOCKING_GRACE` (Redis
 * unreachable: a blocking connection queues its commands until it reconnects) is given up with a
 * `ConnectionError`, so a bounded wait stays bounded.
 */
export async function withBlockingLink<T>(
  target: RedisTarget,
  signal: AbortSignal | undefined,
  ms: number,
  wait: (link: Link) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  const place = endpoint(target);
  const link = place.idle.pop() ?? new Link(target, 'blocking', () => {});
  // Closing the connection does not always settle its pending command (not while ioredis waits to
  // reconnect), so the abort and the deadline race the command instead of waiting for it to fail.
  let giveUp: (reason: unknown) => void = () => {};
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject));
  const onAbort = (): void => giveUp(signal!.reason);
  const timer =
    ms === Infinity
      ? undefined
      : setTimeout(
          () => giveUp(new ConnectionError(`Redis at ${target.shown} did not answer a blocking command within ${ms + BLOCKING_GRACE} ms`)),
          ms + BLOCKING_GRACE,
        );
  signal?.addEventListener('abort', onAbort, { once: true });
  const command = wait(link);
  try {
    const result = await Promise.race([command, givenUp]);
    place.idle.push(link);
    return result;
  } catch (error) {
    command.catch(() => {});
    link.close();
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function endpoint(target: RedisTarget): Endpoint {
  let found = endpoints.get(target.url);
  if (found === undefined) {
    const place: Endpoint = {
      target,
      commands: new Link(target, 'command', () => {
        if (endpoints.get(target.url) === place) endpoints.delete(target.url);
      }),
      idle: [],
    };
    endpoints.set(target.url, place);
    found = place;
  }
  return found;
}

/** Seconds for `BLPOP`/`BLMOVE` from ms: 0 blocks for ever there, so a finite wait is at least 1 ms. */
export function blockSeconds(ms: number): number {
  return ms === Infinity ? 0 : Math.max(ms, 1) / 1000;
}
