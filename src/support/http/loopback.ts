/**
 * What counts as loopback: `localhost`, `127.0.0.0/8`, `::1` and IPv4-mapped loopback addresses.
 *
 * @module
 */
import { isIP } from 'node:net';

/**
 * Whether `host` names the loopback interface (`localhost`, `127.0.0.0/8`, `::1`, or an
 * IPv4-mapped loopback address), with or without IPv6 brackets.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 * ```
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}
