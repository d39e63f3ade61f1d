/**
 * The part of a `node-zookeeper-client` Client this adapter uses, typed here (the package ships
 * no types), and how the adapter gets one: a client, or a function that makes a new one (needed
 * to recover from a session expiry, after which a ZooKeeper client is dead for good).
 *
 * @module
 */

/** A ZooKeeper node's stat; `mzxid` / `pzxid` are 8-byte big-endian transaction ids. */
export interface ZkStat {
  mzxid: Buffer;
  pzxid: Buffer;
  version: number;
}

/** A watch event. */
export interface ZkEvent {
  getName(): string;
  getPath(): string;
}

type Watcher = (event: ZkEvent) => void;

/** The methods of a `node-zookeeper-client` Client the adapter calls. */
export interface ZkClient {
  connect(): void;
  close(): void;
  getData(path: string, watcher: Watcher | undefined, callback: (error: (Error & { code?: number }) | null, data: Buffer | undefined, stat: ZkStat) => void): void;
  getChildren(path: string, watcher: Watcher | undefined, callback: (error: (Error & { code?: number }) | null, children: string[], stat: ZkStat) => void): void;
  exists(path: string, watcher: Watcher | undefined, callback: (error: (Error & { code?: number }) | null, stat: ZkStat | null) => void): void;
  on(event: 'connected' | 'disconnected' | 'expired' | 'state', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  getState(): { name: string };
}

/** A client, or a factory of new (not yet connected) clients. */
export type ZkClientSpec = ZkClient | (() => ZkClient);

/** `NO_NODE` in ZooKeeper's error codes. */
export const NO_NODE = -101;
/** `NO_AUTH` (the znode's ACL does not let this session read) and `AUTH_FAILED` (bad credentials). */
export const PERMANENT_CODES: ReadonlySet<number> = new Set([-102, -115]);

/** A transaction id as a bigint. */
export function zxid(buffer: Buffer | undefined): bigint {
  return buffer && buffer.length === 8 ? buffer.readBigUInt64BE(0) : 0n;
}

export function isZkClient(value: unknown): value is ZkClient {
  const c = value as ZkClient;
  return typeof c === 'object' && c !== null && typeof c.getData === 'function' && typeof c.exists === 'function' && typeof c.on === 'function';
}
