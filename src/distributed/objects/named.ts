/**
 * What every distributed shared object is: a name in a namespace on one Redis, `(url, namespace, name)`.
 * Two objects with the same three, in any process on any machine, are the same object, which is how
 * they are shared: passed to a task or a `Process`, one crosses as those three strings (plus its
 * Python arguments, such as a queue's `maxsize`) and is rebuilt on the other side (`[reduce]`).
 *
 * Keys: `mp:{<namespace>}:<kind>:<name>[:<part>]` (`connection.ts`'s `keysOf`), so the Lua scripts
 * that touch several keys of one object work on a Redis Cluster too.
 */
import { describeValue, misuse } from '../../errors.js';
import { reduce, registerShareable, type Reduced, type Shareable } from '../../transport/shareable.js';
import { checkNamespace, keysOf, parseRedisUrl, type Keys, type RedisTarget } from '../connection.js';
import { commandLink, type Link } from './redis.js';

/** Where a distributed object lives: which Redis, which namespace, which name. */
export interface NamedOptions {
  /** The Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** Keeps programs sharing one Redis apart (default `'default'`, as the distributed `Pool`'s). */
  readonly namespace?: string;
  /** The object's name: every handle with the same url, namespace and name is the same object. */
  readonly name: string;
}

/** @internal The reduced state of a distributed object: its place, and its constructor's arguments. */
export interface NamedState {
  readonly where: Required<NamedOptions>;
  readonly args: readonly unknown[];
}

/** @internal The base of the distributed objects. */
export abstract class Named implements Shareable {
  /** The Redis URL this object lives on. */
  readonly url: string;
  /** Its namespace. */
  readonly namespace: string;
  /** Its name. */
  readonly name: string;
  /** @internal The Redis it lives on. */
  readonly target: RedisTarget;
  /** @internal The connection for ordinary commands. */
  protected readonly link: Link;
  /**
   * @internal The class's name, as its keys, messages and reduced form name it: each class's static
   * `kind` (a bundler may rename the classes themselves).
   */
  protected readonly kind: string;
  readonly #keys: Keys;

  protected constructor(options: NamedOptions) {
    this.kind = (new.target as unknown as { readonly kind: string }).kind;
    const where = checkWhere(this.kind, options);
    this.target = parseRedisUrl(where.url);
    this.url = where.url;
    this.namespace = where.namespace;
    this.name = where.name;
    this.#keys = keysOf(this.namespace);
    this.link = commandLink(this.target);
  }

  /** @internal The Redis key of this object, or of one of its parts. */
  protected key(part?: string): string {
    const kind = this.kind.toLowerCase();
    return part === undefined ? this.#keys.key(kind, this.name) : this.#keys.key(kind, this.name, part);
  }

  /** @internal The constructor's arguments after the options, for the other side. */
  protected abstract args(): readonly unknown[];

  /** @internal */
  [reduce](): Reduced {
    const where: Required<NamedOptions> = { url: this.url, namespace: this.namespace, name: this.name };
    return { kind: distributedKind(this.kind), state: { where, args: this.args() } satisfies NamedState };
  }

  toString(): string {
    return `<distributed ${this.kind} '${this.name}' in '${this.namespace}' on ${this.target.shown}>`;
  }
}

/** @internal The shareable kind of a distributed class: `distributed.Lock`. */
export function distributedKind(kind: string): string {
  return `distributed.${kind}`;
}

/**
 * @internal Registers how a distributed class is rebuilt from its reduced state: its constructor, called
 * with the options and the arguments it was built with.
 */
export function registerNamed(kind: string, make: (where: NamedOptions, args: readonly unknown[]) => Named, moduleUrl: string): void {
  registerShareable(distributedKind(kind), (state) => make((state as NamedState).where, (state as NamedState).args), moduleUrl);
}

function checkWhere(kind: string, options: NamedOptions): Required<NamedOptions> {
  const example = `new ${kind}({ url: 'redis://127.0.0.1:6379', name: 'jobs' }, …)`;
  if (typeof options !== 'object' || options === null) {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `a distributed ${kind} needs { url, name } first, not ${describeValue(options)}: ${example}`);
  }
  const { url, name } = options;
  parseRedisUrl(url);
  const namespace = checkNamespace(options.namespace);
  if (typeof name !== 'string' || name === '') {
    throw misuse(TypeError, 'ERR_MP_INVALID_ARG', `name must be a non-empty string, not ${describeValue(name)}: ${example}`);
  }
  return { url, namespace, name };
}
