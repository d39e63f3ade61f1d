/**
 * Small helpers for the cache tests: flushing pending promise reactions, and a deferred promise to
 * hold a load open. (Virtual time comes from `reloadkit/testing`'s FakeClock.)
 */

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
