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

/** An etcd `Source`; `revision` is the etcd revision of the last successful read. */
export interface EtcdSource extends Source<unknown> {
  readonly revision: bigint | undefined;
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
  let revision: bigint | undefined;
  let everRead = false;

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

  return {
    get revision() {
      return revision;
    },
    describe: () => description,
    async read({ signal }) {
      const res = await readStoreValue(fetch, signal, description);
      const readRevision = BigInt(res.header.revision);
      if (revision === undefined || readRevision > revision) revision = readRevision;
      for (const [subscriber, { hub }] of watching) hub.noteRead(subscriber, readRevision);
      let value: unknown;
      if (res.kvs.length === 0) {
        value = missing();
      } else if ('key' in target) {
        value = parseOne(res.kvs[0]!.value.toString('utf8'), target.key);
      } else {
        // fromEntries defines own properties: a key named `__proto__` stays a plain key.
        value = Object.fromEntries(
          res.kvs.map((kv) => {
            const rest = kv.key.toString('utf8').slice(target.prefix.length);
            return [rest, parseOne(kv.value.toString('utf8'), rest)];
          }),
        );
      }
      everRead = true;
      return value;
    },
    watch(hint: (h: Hint) => void) {
      const subscriber: HubSubscriber = { hint };
      const subscription = subscribeHub(client, target, subscriber, revision);
      watching.set(subscriber, subscription);
      if (revision !== undefined) subscription.hub.noteRead(subscriber, revision);
      return async () => {
        if (!watching.delete(subscriber)) return;
        await subscription.unsubscribe();
      };
    },
  };
}
