/**
 * Test helpers for waiting on conditions instead of sleeping: CI is a loaded 2-core machine, so
 * tests poll for the state they expect with a generous deadline and never assert on wall time.
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 10, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** Resolves once `emitter` emits `event` with a payload matching `filter`. */
export function nextEvent<P>(
  emitter: { once(event: string, fn: (p: P) => void): unknown; on(event: string, fn: (p: P) => void): unknown; off(event: string, fn: (p: P) => void): unknown },
  event: string,
  filter: (p: P) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<P> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event '${event}'`));
    }, timeoutMs);
    const on = (p: P) => {
      if (!filter(p)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(p);
    };
    emitter.on(event, on);
  });
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export { sleep };
