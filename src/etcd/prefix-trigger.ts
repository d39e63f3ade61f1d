/**
 * `etcdPrefixTrigger(client, prefix)`: invalidation hints from etcd: every put or delete under
 * `prefix` is a hint naming the keys it changed (the etcd key minus the prefix, or what `keys`
 * maps it to). etcd watches resume from the last revision after a reconnect, so nothing is
 * missed; a watch etcd cancelled because its revision was compacted (events lost) re-opens from
 * now with a `reconnect` gap hint. `start()` resolves once etcd has the watch, so a change made
 * after it is hinted; a watch that connects only after `startWaitMs` is a `reconnect` gap too
 * (what changed before it connected was not seen).
 *
 * @module
 */
import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import { expectNonEmptyString, expectObject, expectOptionalFunction } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import type { Hint, Trigger } from '../types.js';

/** Options of {@link etcdPrefixTrigger}. */
export interface EtcdPrefixTriggerOptions {
  /**
   * Maps a changed etcd key (the full key) to the cache key it invalidates; `null` ignores it.
   * @default the key without `prefix`
   * @example
   * ```ts
   * etcdPrefixTrigger(client, '/inval/', { keys: (key) => `user:${key.split('/').pop()}` })
   * ```
   */
  keys?: (etcdKey: string) => string | null;
  /**
   * First delay before re-opening a watch etcd cancelled (other than for compaction), doubled up to 10 s.
   * @default 100
   * @example
   * ```ts
   * etcdPrefixTrigger(client, '/inval/', { retryMs: 500 })
   * ```
   */
  retryMs?: number;
  /**
   * How long `start()` waits for etcd to confirm the watch. Past it, `start()` resolves anyway
   * (the unit or cache starts without waiting on etcd), and the watch's late connection fires one
   * `reconnect` gap hint.
   * @default 2000
   * @example
   * ```ts
   * etcdPrefixTrigger(client, '/inval/', { startWaitMs: 500 })
   * ```
   */
  startWaitMs?: number;
}

const KNOWN_KEYS = ['keys', 'retryMs', 'startWaitMs'] as const;

/** An etcd prefix trigger; `revision` is the last revision seen. */
export interface EtcdPrefixTrigger extends Trigger {
  readonly revision: bigint;
  readonly stats: { events: number; gaps: number; reopened: number };
}

/**
 * A trigger firing one hint per etcd watch response under `prefix`, with the keys it changed.
 *
 * @example
 * ```ts
 * import { etcdPrefixTrigger } from 'reloadkit/etcd';
 * const users = reloadableCache({ name: 'users', load, invalidateOn: [invalidationTrigger({ from: etcdPrefixTrigger(client, '/users/') })] });
 * // any `put /users/7` invalidates the cache key '7'
 * ```
 */
export function etcdPrefixTrigger(client: Namespace, prefix: string, options: EtcdPrefixTriggerOptions = {}): EtcdPrefixTrigger {
  if (typeof client !== 'object' || client === null || typeof (client as Namespace).watch !== 'function') {
    throw new TypeError('etcdPrefixTrigger: expected an etcd3 client (Etcd3 or a namespace) as the first argument');
  }
  expectNonEmptyString('etcdPrefixTrigger', 'prefix', prefix);
  expectObject('etcdPrefixTrigger', 'options', options);
  rejectUnknownKeys('etcdPrefixTrigger', options, KNOWN_KEYS);
  expectOptionalFunction('etcdPrefixTrigger', 'keys', options.keys);
  const retryMin = options.retryMs ?? 100;
  if (!Number.isFinite(retryMin) || retryMin <= 0) throw new TypeError('etcdPrefixTrigger: expected `retryMs` to be a positive number');
  const startWaitMs = options.startWaitMs ?? 2000;
  if (!Number.isFinite(startWaitMs) || startWaitMs < 0) throw new TypeError('etcdPrefixTrigger: expected `startWaitMs` to be a non-negative number');
  const mapKey = options.keys ?? ((key: string) => key.slice(prefix.length) || null);
  const stats = { events: 0, gaps: 0, reopened: 0 };
  let revision = 0n;
  let state: { watcher?: Watcher; timer?: NodeJS.Timeout; closed: boolean } | undefined;

  return {
    get revision() {
      return revision;
    },
    stats,
    async start(fire: (hint: Hint) => void) {
      if (state) return;
      const current: { watcher?: Watcher; timer?: NodeJS.Timeout; closed: boolean } = { closed: false };
      state = current;
      let retryMs = retryMin;
      // Resolved by the first connection; `late` once start() stopped waiting for it.
      let firstConnected: () => void = () => undefined;
      const connected = new Promise<void>((resolve) => (firstConnected = resolve));
      let late = false;
      const open = (gapOnConnect: boolean) => {
        if (current.closed) return;
        let builder = client.watch().prefix(prefix);
        if (revision > 0n && !gapOnConnect) builder = builder.startRevision(String(revision + 1n));
        const watcher = builder.watcher();
        current.watcher = watcher;
        watcher.on('connected', (res: IWatchResponse) => {
          if (current.watcher !== watcher || current.closed) return;
          retryMs = retryMin;
          let why = gapOnConnect ? 'watch re-opened after compaction' : undefined;
          if (revision === 0n) {
            revision = BigInt(res.header.revision);
            firstConnected();
            // Started without it: changes made between start() and now were not watched.
            if (late) why = `watch connected after start() stopped waiting (${startWaitMs} ms)`;
          }
          gapOnConnect = false;
          if (why) {
            stats.gaps++;
            fire({ kind: 'etcd', detail: `etcd prefix ${prefix}: ${why} (gap: reconnect)`, gap: { since: Date.now(), reason: 'reconnect' } });
          }
        });
        watcher.on('data', (res: IWatchResponse) => {
          if (current.watcher !== watcher || current.closed) return;
          const keys = new Set<string>();
          for (const event of res.events) {
            const kv: IKeyValue = event.kv;
            const mod = BigInt(kv.mod_revision);
            if (mod > revision) revision = mod;
            const mapped = mapKey(kv.key.toString('utf8'));
            if (mapped !== null) keys.add(mapped);
          }
          if (BigInt(res.header.revision) > revision) revision = BigInt(res.header.revision);
          stats.events += res.events.length;
          if (keys.size > 0) fire({ kind: 'etcd', detail: `etcd prefix ${prefix}: ${keys.size} key(s)`, keys: [...keys] });
        });
        watcher.on('error', (error: unknown) => {
          if (current.watcher !== watcher || current.closed) return;
          current.watcher = undefined;
          stats.reopened++;
          const compacted = /compact/i.test(error instanceof Error ? `${error.name} ${error.message}` : String(error));
          const delay = compacted ? 0 : retryMs;
          retryMs = Math.min(retryMs * 2, 10_000);
          // Compacted: the events since our revision are gone; watch from now and report the gap.
          current.timer = setTimeout(() => open(compacted), delay);
        });
      };
      open(false);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([connected.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(resolve, startWaitMs, false)))]);
      clearTimeout(timer);
      if (!waited) late = true;
    },
    async stop() {
      const current = state;
      state = undefined;
      if (!current) return;
      current.closed = true;
      clearTimeout(current.timer);
      await current.watcher?.cancel().catch(() => undefined);
    },
  };
}
