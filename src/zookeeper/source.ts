/**
 * `zookeeperSource(client, path, { children? })`: a unit's candidate read from one ZooKeeper
 * znode's data (or, with `children: true`, from every child of a znode, as an object keyed by
 * child name), with hints from ZooKeeper watches.
 *
 * - Watches are one-shot: each event re-arms the watch *before* hinting, so a change made after
 *   the event is caught by the new watch or by the re-read that follows, never by neither.
 * - Each read carries the transaction id of what it read (`mzxid` of the data; with children
 *   also the parent's `pzxid`): a read that comes back older than one already returned (a lagging
 *   server after a failover) returns the newer value again, so an older read never overwrites a
 *   newer commit.
 * - A reconnect within the session keeps its watches (the client re-registers them) and re-reads
 *   anyway. A session expiry kills the client and its watches: with a client factory, the source
 *   opens a new session, re-arms every watch and re-reads; with a plain client it can only hint,
 *   and reads fail (the unit keeps its live generation) until the application replaces the client.
 *
 * @module
 */
import { LoadError } from '../errors.js';
import { expectNonEmptyString, expectObject, expectOptionalFunction } from '../support/check-option.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { parseStoreValue } from '../support/store-value.js';
import { abortable } from '../support/abortable.js';
import type { Hint, Source } from '../types.js';
import { isZkClient, NO_NODE, PERMANENT_CODES, zxid, type ZkClient, type ZkClientSpec, type ZkEvent, type ZkStat } from './client.js';

/** Options of {@link zookeeperSource}. */
export interface ZookeeperSourceOptions {
  /**
   * Read every child of `path` (an object keyed by child name, each child's data parsed) instead
   * of `path`'s own data; watches the child list and each child.
   * @default false
   * @example
   * ```ts
   * zookeeperSource(client, '/app/flags', { children: true }) // { beta: …, level: … }
   * ```
   */
  children?: boolean;
  /**
   * Turns one znode's data (UTF-8 text) into the raw candidate; `name` is the path (or the child's name).
   * @default JSON.parse
   * @example
   * ```ts
   * zookeeperSource(client, '/app/config', { parse: (text) => YAML.parse(text) })
   * ```
   */
  parse?: (text: string, name: string) => unknown;
  /**
   * How long a read waits for the client to be connected before it fails (the unit keeps its
   * live generation and retries by its own policy).
   * @default 10000
   * @example
   * ```ts
   * zookeeperSource(client, '/app/config', { connectTimeoutMs: 3000 })
   * ```
   */
  connectTimeoutMs?: number;
}

const KNOWN_KEYS = ['children', 'parse', 'connectTimeoutMs'] as const;

/** A ZooKeeper `Source`; `zxid` is the transaction id of the newest value read, `sessions` counts sessions opened. */
export interface ZookeeperSource extends Source<unknown> {
  readonly zxid: bigint;
  readonly stats: { sessions: number; expiries: number; staleReads: number; watchEvents: number };
}

function checkOptions(client: unknown, path: unknown, options: unknown): void {
  if (typeof client !== 'function' && !isZkClient(client)) {
    throw new TypeError('zookeeperSource: expected a node-zookeeper-client Client (or a function returning a new one) as the first argument');
  }
  expectNonEmptyString('zookeeperSource', 'path', path);
  if (!(path as string).startsWith('/')) throw new TypeError('zookeeperSource: expected `path` to start with /');
  expectObject('zookeeperSource', 'options', options);
  rejectUnknownKeys('zookeeperSource', options, KNOWN_KEYS);
  const { children, parse, connectTimeoutMs } = options as ZookeeperSourceOptions;
  if (children !== undefined && typeof children !== 'boolean') throw new TypeError('zookeeperSource: expected `children` to be a boolean');
  expectOptionalFunction('zookeeperSource', 'parse', parse);
  if (connectTimeoutMs !== undefined && (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0)) {
    throw new TypeError('zookeeperSource: expected `connectTimeoutMs` to be a positive number');
  }
}

/**
 * One request on `c`. A request queued while the client was reconnecting is never answered if
 * the session then expires (the client drops its queue without calling back), so the session's
 * expiry ends the wait too.
 */
const call = <T extends unknown[]>(c: ZkClient, fn: (cb: (error: (Error & { code?: number }) | null, ...rest: T) => void) => void, description: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const expired = () => {
      c.removeListener('expired', expired);
      reject(new LoadError(`${description}: the ZooKeeper session expired during a read`, { source: description }));
    };
    c.on('expired', expired);
    fn((error, ...rest) => {
      c.removeListener('expired', expired);
      if (error) reject(error);
      else resolve(rest);
    });
  });

/**
 * A `Source` reading a znode (or its children) with one-shot watches re-armed on every event and
 * every new session, and reads ordered by transaction id.
 *
 * @example
 * ```ts
 * import zookeeper from 'node-zookeeper-client';
 * import { zookeeperSource } from 'reloadkit/zookeeper';
 *
 * const connect = () => zookeeper.createClient('127.0.0.1:2181', { sessionTimeout: 10_000 });
 * const config = reloadable({ name: 'config', source: zookeeperSource(connect, '/app/config'), schema });
 * await config.start();
 * ```
 */
export function zookeeperSource(client: ZkClientSpec, path: string, options: ZookeeperSourceOptions = {}): ZookeeperSource {
  checkOptions(client, path, options);
  const children = options.children ?? false;
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const description = `zookeeper ${children ? 'children of ' : ''}${path}`;
  const factory = typeof client === 'function' ? client : undefined;
  const stats = { sessions: 0, expiries: 0, staleReads: 0, watchEvents: 0 };
  let current: ZkClient | undefined = factory ? undefined : (client as ZkClient);
  let newest: { zxid: bigint; value: unknown } | undefined;
  /** Everyone who wants to know about a new session (the watches re-arm on it). */
  const sessionListeners = new Set<(fresh: ZkClient) => void>();

  const onExpired = (dead: ZkClient) => () => {
    stats.expiries++;
    if (!factory || current !== dead) {
      for (const listener of sessionListeners) listener(dead);
      return;
    }
    dead.close();
    current = undefined;
    const fresh = session();
    for (const listener of sessionListeners) listener(fresh);
  };

  /** The live client, opening a session from the factory when there is none. */
  const session = (): ZkClient => {
    if (current) return current;
    const fresh = factory!();
    current = fresh;
    stats.sessions++;
    fresh.on('expired', onExpired(fresh));
    fresh.connect();
    return fresh;
  };
  if (current) current.on('expired', onExpired(current));

  const connected = async (signal: AbortSignal): Promise<ZkClient> => {
    const c = session();
    if (c.getState().name === 'SYNC_CONNECTED') return c;
    let listener: (() => void) | undefined;
    let expired: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await abortable(
        new Promise<void>((resolve, reject) => {
          listener = () => resolve();
          c.on('connected', listener);
          // A session that expires while we wait never connects again: fail now, so the unit's
          // retry runs on the fresh session instead of waiting out the timeout.
          expired = () => reject(new LoadError(`${description}: the ZooKeeper session expired while connecting`, { source: description }));
          c.on('expired', expired);
          timer = setTimeout(() => reject(new LoadError(`${description}: not connected to ZooKeeper after ${connectTimeoutMs} ms`, { source: description })), connectTimeoutMs);
        }),
        signal,
        description,
      );
    } finally {
      if (listener) c.removeListener('connected', listener);
      if (expired) c.removeListener('expired', expired);
      clearTimeout(timer);
    }
    return c;
  };

  const text = (data: Buffer | undefined) => (data ?? Buffer.alloc(0)).toString('utf8');
  const missing = (): never => {
    throw new LoadError(`${description} does not exist`, { source: description });
  };

  const readOnce = async (c: ZkClient): Promise<{ zxid: bigint; value: unknown }> => {
    try {
      if (!children) {
        const [data, stat] = await call<[Buffer | undefined, ZkStat]>(c, (cb) => c.getData(path, undefined, cb), description);
        return { zxid: zxid(stat.mzxid), value: parseStoreValue(() => parse(text(data), path), description, description) };
      }
      const [names, parentStat] = await call<[string[], ZkStat]>(c, (cb) => c.getChildren(path, undefined, cb), description);
      let newestZxid = zxid(parentStat.pzxid);
      const entries: [string, unknown][] = [];
      for (const name of [...names].sort()) {
        try {
          const [data, stat] = await call<[Buffer | undefined, ZkStat]>(c, (cb) => c.getData(`${path}/${name}`, undefined, cb), description);
          const id = zxid(stat.mzxid);
          if (id > newestZxid) newestZxid = id;
          entries.push([name, parseStoreValue(() => parse(text(data), name), `zookeeper node ${path}/${name}`, description)]);
        } catch (error) {
          if ((error as { code?: number }).code === NO_NODE) continue; // deleted between list and read
          throw error;
        }
      }
      return { zxid: newestZxid, value: Object.fromEntries(entries) };
    } catch (error) {
      if ((error as { code?: number }).code === NO_NODE) missing();
      if (error instanceof LoadError) throw error;
      // NoAuth / AuthFailed: the ACL or the credentials are wrong, and no retry changes them.
      const permanent = PERMANENT_CODES.has((error as { code?: number }).code ?? 0);
      throw new LoadError(`${description}: read failed (${(error as Error).message})`, { source: description, cause: error, permanent });
    }
  };

  return {
    get zxid() {
      return newest?.zxid ?? 0n;
    },
    stats,
    describe: () => description,
    async read({ signal }) {
      const c = await connected(signal);
      const result = await abortable(readOnce(c), signal, description);
      if (newest && result.zxid < newest.zxid) {
        // An older state than one already returned: never let it overwrite the newer one.
        stats.staleReads++;
        return newest.value;
      }
      newest = result;
      return result.value;
    },
    watch(hint: (h: Hint) => void) {
      let closed = false;
      /** Paths with a live watch on the client they were armed on. */
      let armed = new Set<string>();
      let armedOn: ZkClient | undefined;
      const fire = (detail: string) => {
        if (!closed) hint({ kind: 'zookeeper', detail: `${description}: ${detail}` });
      };

      const armData = (c: ZkClient, node: string) => {
        if (closed || c !== armedOn || armed.has(`d:${node}`)) return;
        armed.add(`d:${node}`);
        // `exists` arms a watch whether or not the node exists (creation fires it too).
        c.exists(
          node,
          (event: ZkEvent) => {
            armed.delete(`d:${node}`);
            stats.watchEvents++;
            armData(c, node); // re-arm first, then hint: no change falls between the two
            fire(event.getName());
          },
          (error) => {
            if (error) armed.delete(`d:${node}`); // connection lost: re-armed on the next 'connected'
          },
        );
      };
      const armChildren = (c: ZkClient) => {
        if (closed || c !== armedOn || armed.has('c:')) return;
        armed.add('c:');
        c.getChildren(
          path,
          (event: ZkEvent) => {
            armed.delete('c:');
            stats.watchEvents++;
            armChildren(c);
            fire(event.getName());
          },
          (error, names) => {
            if (error) {
              armed.delete('c:');
              // No parent yet: watch for its creation instead, then list again.
              if ((error as { code?: number }).code === NO_NODE) armData(c, path);
              return;
            }
            for (const name of names) armData(c, `${path}/${name}`);
          },
        );
      };
      const armAll = (c: ZkClient) => {
        if (c !== armedOn) {
          armedOn = c;
          armed = new Set();
        }
        if (children) armChildren(c);
        armData(c, path);
      };

      let wasDisconnected = false;
      let listening: ZkClient | undefined;
      const onConnected = () => {
        if (!armedOn) return;
        armAll(armedOn); // anything whose arming failed while disconnected
        if (wasDisconnected) {
          wasDisconnected = false;
          fire('reconnected');
        }
      };
      const onDisconnected = () => {
        wasDisconnected = true;
      };
      const listen = (c: ZkClient) => {
        if (listening) {
          listening.removeListener('connected', onConnected);
          listening.removeListener('disconnected', onDisconnected);
        }
        listening = c;
        c.on('connected', onConnected);
        c.on('disconnected', onDisconnected);
      };
      const onSession = (c: ZkClient) => {
        if (closed) return;
        // A new session (or an expired one without a factory): every watch is gone. Re-arm on
        // the live client and re-read.
        const live = current ?? c;
        listen(live);
        armedOn = undefined;
        armAll(live);
        fire('session expired');
      };
      sessionListeners.add(onSession);
      const c = session();
      listen(c);
      armAll(c);
      return () => {
        if (closed) return;
        closed = true;
        sessionListeners.delete(onSession);
        if (listening) {
          listening.removeListener('connected', onConnected);
          listening.removeListener('disconnected', onDisconnected);
        }
        // Watches cannot be removed from a client; they fire once more into a closed watcher.
        if (factory && sessionListeners.size === 0 && current) {
          current.close();
          current = undefined;
        }
      };
    },
  };
}
