/**
 * `etcdSource`: a unit's candidate read from one etcd key, or from every key under a prefix
 * (an object keyed by the rest of each key), with hints from a shared watch (see `hub.ts`).
 *
 * @module
 */
import type { IRangeResponse, Namespace } from 'etcd3';
import { expectNonEmptyString, expectOptionalFunction } from '../support/check-option.js';
import { LoadError } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { ETCD_SOURCE_KEYS, failPermanently } from './source-checks.js';
import { parseStoreValue, readStoreValue } from '../support/store-value.js';
import type { Hint, Source } from '../types.js';
import { describeTarget, subscribeHub, type EtcdTarget, type EtcdWatchHub, type HubSubscriber } from './hub.js';
import { WatchedState } from './watched-state.js';

/** What to do when the watched key is deleted (or the prefix becomes empty) after a first read. */
export type EtcdDeletePolicy = 'keep' | 'reject';

/** Options of {@link etcdSource}. */
export interface EtcdSourceOptions {
  /**
   * Turns one stored value (UTF-8 text) into the raw candidate. `key` is the full key for a
   * key source and the rest of the key for a prefix source.
   * @default JSON.parse
   * @example
   * ```ts
   * import { parse as parseYaml } from 'yaml';
   * etcdSource(client, { key: '/app/config.yaml' }, { parse: (text) => parseYaml(text) });
   * ```
   */
  parse?: (text: string, key: string) => unknown;
  /**
   * A deleted key (an empty prefix) after a successful read:
   * - `'keep'` (default): the live generation is kept and the unit is told so: `read()` fails
   *   with a `LoadError` saying the key was deleted, so the unit keeps serving its last
   *   generation and its status shows the failed attempt until the key comes back.
   * - `'reject'`: the deletion is a candidate like any other and goes to validation as `null`
   *   (a key) or `{}` (a prefix): the schema decides, and a schema that needs a config rejects it.
   * A key missing on the very first read always fails (`LoadError`: there is nothing to keep).
   * @default 'keep'
   * @example
   * ```ts
   * etcdSource(client, { prefix: '/flags/' }, { onDelete: 'reject' }); // an emptied prefix is validated as {}
   * ```
   */
  onDelete?: EtcdDeletePolicy;
}

/**
 * An etcd `Source`. `revision`: the etcd revision the source's view is current as of (its last
 * read, or the last change it applied from the watch). `reads`: requests sent to etcd so far.
 */
export interface EtcdSource extends Source<unknown> {
  readonly revision: bigint | undefined;
  readonly reads: number;
}

function checkOptions(client: unknown, target: unknown, options: unknown): asserts target is EtcdTarget {
  if (typeof client !== 'object' || client === null || typeof (client as Namespace).get !== 'function' || typeof (client as Namespace).watch !== 'function') {
    throw new TypeError('etcdSource: expected an etcd3 client (Etcd3 or a namespace) as the first argument');
  }
  if (typeof target !== 'object' || target === null) {
    throw new TypeError("etcdSource: expected `{ key: string }` or `{ prefix: string }` as the second argument");
  }
  const hasKey = 'key' in target;
  const hasPrefix = 'prefix' in target;
  if (hasKey === hasPrefix) throw new TypeError('etcdSource: pass exactly one of `key` or `prefix`');
  const value = hasKey ? (target as { key: unknown }).key : (target as { prefix: unknown }).prefix;
  expectNonEmptyString('etcdSource', hasKey ? 'key' : 'prefix', value);
  if (typeof options !== 'object' || options === null) throw new TypeError('etcdSource: expected `options` to be an object');
  rejectUnknownKeys('etcdSource', options, ETCD_SOURCE_KEYS);
  const opts = options as EtcdSourceOptions;
  expectOptionalFunction('etcdSource', 'parse', opts.parse);
  if (opts.onDelete !== undefined && opts.onDelete !== 'keep' && opts.onDelete !== 'reject') {
    throw new TypeError(`etcdSource: expected \`onDelete\` to be 'keep' or 'reject', got \`${String(opts.onDelete)}\``);
  }
}

/**
 * A `Source` reading one etcd key (`{ key }`) or a prefix (`{ prefix }`, read as an object keyed
 * by the rest of each key), with hints from one watch shared by every source on the same client
 * and target. Watches resume from the last revision after reconnects, recover from compaction
 * with a full re-read, and never lose a change made between a read and the watch.
 *
 * While watched, a change is not read back: the watch event carries the value, and the read the
 * unit runs for that hint is answered from it when its revision follows the source's view (the
 * last read, then each applied change). An older revision never replaces a newer one; a
 * reconnect, a compaction or a gap between read and watch sends the next read to etcd, and so
 * does a read with no unapplied change behind it (a manual `reload()` sees every finished put).
 *
 * @example
 * ```ts
 * import { Etcd3 } from 'etcd3';
 * import { reloadable } from 'reloadkit';
 * import { etcdSource } from 'reloadkit/etcd';
 *
 * const client = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
 * const config = reloadable({ name: 'config', source: etcdSource(client, { key: '/app/config' }), schema });
 * await config.start();
 * ```
 */
export function etcdSource(client: Namespace, target: { key: string } | { prefix: string }, options: EtcdSourceOptions = {}): EtcdSource {
  checkOptions(client, target, options);
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown);
  const onDelete: EtcdDeletePolicy = options.onDelete ?? 'keep';
  const description = `etcd ${describeTarget(target)}`;
  const watching = new Map<HubSubscriber, { hub: EtcdWatchHub; unsubscribe: () => Promise<void> }>();
  let everRead = false;
  let reads = 0;
  const state = new WatchedState('key' in target ? (key) => (key === target.key ? key : undefined) : (key) => (key.startsWith(target.prefix) ? key.slice(target.prefix.length) : undefined));

  const parseOne = (text: string, key: string): unknown =>
    parseStoreValue(() => parse(text, key), `etcd key ${'key' in target ? key : target.prefix + key}`, description);

  const missing = (): unknown => {
    const what = 'key' in target ? `etcd key ${target.key} does not exist` : `etcd prefix ${target.prefix} has no keys`;
    if (!everRead) throw new LoadError(what, { source: description });
    if (onDelete === 'keep') {
      throw new LoadError(`${what} (deleted): keeping the live generation (onDelete: 'keep')`, { source: description });
    }
    return 'key' in target ? null : {};
  };

  // Permission denied or bad credentials reject as permanent: the unit's retries stop at once.
  const fetch = (): Promise<IRangeResponse> =>
    failPermanently('key' in target ? client.get(target.key).exec() : client.getAll().prefix(target.prefix).exec(), description);

  /** The candidate from `entries` (rest of key → stored text), in key order. */
  const decode = (entries: ReadonlyArray<readonly [string, string]>): unknown => {
    let value: unknown;
    if (entries.length === 0) {
      value = missing();
    } else if ('key' in target) {
      value = parseOne(entries[0]![1], target.key);
    } else {
      // fromEntries defines own properties: a key named `__proto__` stays a plain key.
      value = Object.fromEntries(entries.map(([rest, text]) => [rest, parseOne(text, rest)]));
    }
    everRead = true;
    return value;
  };

  return {
    get revision() {
      return state.revision;
    },
    get reads() {
      return reads;
    },
    describe: () => description,
    async read(ctx) {
      // The watch already delivered what changed since the last read: no round trip, and no
      // `ctx.signal` either (the context builds its AbortController only when asked).
      const watched = state.takeUnread();
      if (watched) return decode(watched);
      const token = state.beginRead();
      reads += 1;
      let res: IRangeResponse;
      try {
        res = await readStoreValue(fetch, ctx.signal, description);
      } catch (error) {
        state.abandonRead(token);
        throw error;
      }
      const readRevision = BigInt(res.header.revision);
      for (const [subscriber, { hub }] of watching) hub.noteRead(subscriber, readRevision);
      const entries = state.finishRead(
        token,
        readRevision,
        res.kvs.map((kv) => [kv.key.toString('utf8'), kv.value.toString('utf8')] as const),
        [...watching.values()][0]?.hub,
      );
      return decode(entries);
    },
    watch(hint: (h: Hint) => void) {
      const subscriber: HubSubscriber = { hint, changes: (hub, epoch, changes) => state.apply(hub, epoch, changes) };
      const revision = state.revision;
      const subscription = subscribeHub(client, target, subscriber, revision);
      watching.set(subscriber, subscription);
      if (revision !== undefined) subscription.hub.noteRead(subscriber, revision);
      return async () => {
        if (!watching.delete(subscriber)) return;
        if (watching.size === 0) state.unwatched();
        await subscription.unsubscribe();
      };
    },
  };
}
