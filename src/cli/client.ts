/**
 * The CLI's HTTP client: one request to the admin endpoint, with the bearer token and a timeout.
 * Connection failures and non-JSON answers become a `ClientError` with a one-line reason.
 *
 * @module
 */

import { ClientError } from '../errors.js';

/** A failure to talk to the admin endpoint at all (exit code 2). */
export { ClientError };

/** An answer of the admin endpoint. */
export interface AdminAnswer {
  status: number;
  body: unknown;
  /** False when the answer was not JSON (`body` is then `undefined`): not the admin endpoint's. */
  json: boolean;
}

/**
 * Sends one request and parses the JSON answer.
 *
 * @example
 * ```ts
 * const { status, body } = await request('http://127.0.0.1:9464/reloadkit/units', { token, timeoutMs: 30_000 });
 * ```
 */
export async function request(
  url: string,
  { method = 'GET', token, body, timeoutMs, allowNonJson = false }: { method?: string; token?: string; body?: unknown; timeoutMs: number; allowNonJson?: boolean },
): Promise<AdminAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  // The admin endpoint refuses a mutating request that is not JSON (its browser defence): every
  // POST says so and carries a JSON object, `{}` at least.
  const mutating = method !== 'GET' && method !== 'HEAD';
  const payload = body === undefined ? (mutating ? {} : undefined) : body;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new ClientError(`no answer from ${url} within ${timeoutMs} ms`);
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new ClientError(`cannot reach ${url}: ${why}`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: text === '' ? {} : JSON.parse(text), json: true };
  } catch {
    if (!allowNonJson) throw new ClientError(`unexpected non-JSON answer (HTTP ${response.status}) from ${url}`);
    return { status: response.status, body: undefined, json: false };
  }
}
