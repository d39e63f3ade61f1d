/**
 * The hint for a `--url` that misses the admin base path: `http://127.0.0.1:9000` when the
 * endpoint lives at `http://127.0.0.1:9000/reloadkit`. A 404 that says "no such route" (the admin
 * server's JSON 404 outside its base path, or a host application's own 404 page) is checked by
 * asking the anonymous `/health` probe at the URLs the operator probably meant; only a probe that
 * answers like reloadkit's (`200 { status: 'ok' }`) is suggested. The token is never sent there.
 *
 * @module
 */
import { request, type AdminAnswer } from './client.js';

/** The base path `createAdminHandler` uses when none is given. */
export const DEFAULT_BASE_PATH = '/reloadkit';

/** Whether an answer is a "no such route" 404 (the admin server's, or anyone's non-JSON one). */
export function isRouteNotFound(answer: AdminAnswer): boolean {
  if (answer.status !== 404) return false;
  if (!answer.json) return true;
  const code = (answer.body as { error?: { code?: unknown } } | null)?.error?.code;
  return code === 'RELOADKIT_HTTP_NOT_FOUND';
}

async function answersHealth(base: string, timeoutMs: number): Promise<boolean> {
  try {
    const probe = await request(`${base}/health`, { timeoutMs, allowNonJson: true });
    return probe.status === 200 && (probe.body as { status?: unknown } | undefined)?.status === 'ok';
  } catch {
    return false;
  }
}

/**
 * The hint to append to a "no such route" failure, or `''` when `url` already is a working base
 * (the endpoint then just lacks that route: an older reloadkit).
 *
 * @example
 * ```ts
 * await baseHint('http://127.0.0.1:9000', 5_000); // ' (did you mean http://127.0.0.1:9000/reloadkit?)'
 * ```
 */
export async function baseHint(url: string, timeoutMs: number): Promise<string> {
  const probeMs = Math.min(timeoutMs, 5_000);
  if (await answersHealth(url, probeMs)) return ' (this admin endpoint has no such route: is it an older reloadkit?)';
  const origin = new URL(url).origin;
  const candidates = [...new Set([`${url}${DEFAULT_BASE_PATH}`, `${origin}${DEFAULT_BASE_PATH}`])].filter((c) => c !== url);
  for (const candidate of candidates) {
    if (await answersHealth(candidate, probeMs)) return ` (did you mean ${candidate}?)`;
  }
  return ` (is the admin base path missing from --url? it is the handler's basePath, default ${DEFAULT_BASE_PATH})`;
}
