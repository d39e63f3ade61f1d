/**
 * A small closed-loop HTTP load driver (keep-alive sockets, N requests in flight) for the demo and
 * the test. Counts, not timings: it runs until a condition holds, bounded by a request cap.
 *
 * @module
 */
import { Agent, request } from 'node:http';

/** Options of {@link driveRequests}. */
export interface DriveOptions {
  /** Requests in flight at once; default 16. */
  concurrency?: number;
  /** Never stop before this many requests; default 0. */
  minRequests?: number;
  /** Hard cap: stop here whatever `until` says. */
  maxRequests: number;
  /** Stop (after `minRequests`) once this returns true. Default: run to `maxRequests`. */
  until?: () => boolean;
}

/** What {@link driveRequests} observed. A request failed if it errored or was not 2xx. */
export interface DriveResult {
  sent: number;
  ok: number;
  failed: number;
  /** Count per status code (`error` for a socket/transport error). */
  statuses: Record<string, number>;
}

/**
 * Sends GET requests to `url` (path varies per request) with `concurrency` in flight until
 * `until()` holds after `minRequests`, or `maxRequests` were sent.
 *
 * @example
 * ```ts
 * const r = await driveRequests(app.url, { concurrency: 16, maxRequests: 2_000 });
 * r.failed; // 0
 * ```
 */
export async function driveRequests(url: string, options: DriveOptions): Promise<DriveResult> {
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`Expected \`concurrency\` to be a positive integer, got ${concurrency}`);
  if (!Number.isInteger(options.maxRequests) || options.maxRequests < 1) throw new TypeError(`Expected \`maxRequests\` to be a positive integer, got ${options.maxRequests}`);
  const minRequests = options.minRequests ?? 0;
  const until = options.until ?? (() => false);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: DriveResult = { sent: 0, ok: 0, failed: 0, statuses: {} };
  const done = () => result.sent >= options.maxRequests || (result.sent >= minRequests && until());
  const worker = async () => {
    while (!done()) {
      const n = result.sent++;
      const status = await get(new URL(`/item/${n}`, url), agent);
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      if (status.startsWith('2')) result.ok++;
      else result.failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return result;
}

function get(url: URL, agent: Agent): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}
