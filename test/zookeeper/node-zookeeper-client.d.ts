// node-zookeeper-client ships no type declarations: the tests' view of the part they use. (The
// adapter types what it calls itself, in src/zookeeper/client.ts.)
declare module 'node-zookeeper-client' {
  type Callback<T> = (error: (Error & { code?: number }) | null, result: T) => void;
  export interface Client {
    connect(): void;
    close(): void;
    on(event: string, listener: (...args: unknown[]) => void): unknown;
    once(event: string, listener: (...args: unknown[]) => void): unknown;
    removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
    getState(): { name: string };
    getSessionId(): Buffer;
    create(path: string, data: Buffer | undefined, callback: Callback<string>): void;
    mkdirp(path: string, data: Buffer | undefined, callback: Callback<string>): void;
    setData(path: string, data: Buffer | null, version: number, callback: Callback<unknown>): void;
    remove(path: string, version: number, callback: (error: Error | null) => void): void;
    getData(path: string, watcher: unknown, callback: (error: (Error & { code?: number }) | null, data: Buffer | undefined, stat: { mzxid: Buffer; pzxid: Buffer; version: number }) => void): void;
    getChildren(path: string, watcher: unknown, callback: (error: (Error & { code?: number }) | null, children: string[], stat: { mzxid: Buffer; pzxid: Buffer; version: number }) => void): void;
    exists(path: string, watcher: unknown, callback: (error: (Error & { code?: number }) | null, stat: { mzxid: Buffer; pzxid: Buffer; version: number } | null) => void): void;
  }
  export function createClient(connectionString: string, options?: { sessionTimeout?: number; spinDelay?: number; retries?: number }): Client;
  const zookeeper: { createClient: typeof createClient };
  export default zookeeper;
}
