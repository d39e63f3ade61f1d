/**
 * Small helpers for the cache tests: flushing pending promise reactions, and a deferred promise to
 * hold a load open. (Virtual time comes from `reloadkit/testing`'s FakeClock.)
 */
import type { Hint } from '../../src/types.js';

/** Lets pending promise reactions and immediates run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise with its resolve/reject exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A trigger fired by hand that passes the whole hint through (keys, prefix, all, gap). */
export function hintTrigger(): { start(fire: (hint: Hint) => void): void; stop(): void; fire(hint: Hint): void; readonly started: boolean } {
  let consumer: ((hint: Hint) => void) | undefined;
  return {
    start(fire) {
      consumer = fire;
    },
    stop() {
      consumer = undefined;
    },
    fire(hint) {
      consumer?.(hint);
    },
    get started() {
      return consumer !== undefined;
    },
  };
}

/** A loader that counts loads per key and returns `{ key, n }` with the key's load count. */
export function countingLoad(): {
  loads: Map<string, number>;
  count: (keys: readonly string[]) => Record<string, number>;
  load: (key: string) => Promise<{ key: string; n: number | undefined }>;
} {
  const loads = new Map<string, number>();
  return {
    loads,
    count: (keys) => Object.fromEntries(keys.map((k) => [k, loads.get(k) ?? 0])),
    load: async (key) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return { key, n: loads.get(key) };
    },
  };
}
