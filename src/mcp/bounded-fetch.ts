/**
 * A `fetch` for the MCP client transport that adds the bearer token and caps what a server may
 * send: a JSON answer beyond `maxBytes` fails, and so does one Server-Sent Event beyond `maxBytes`
 * (a long-lived stream may carry many events, but none may grow without bound). A server that
 * answers with an endless body therefore fails the one request, never the process.
 *
 * @module
 */

import { McpError } from './errors.js';

/** The error a capped body fails with (the SDK reports it as a transport error; the connection finds it in the cause chain). */
function tooLarge(limit: number): McpError {
  return new McpError(`response exceeds ${limit} bytes`, { kind: 'too-large' });
}

/** `body`, failing once it exceeds `limit` bytes (per event when `perEvent`); `done` runs once it ended either way. */
function bounded(body: ReadableStream<Uint8Array>, limit: number, perEvent: boolean, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  let last = 0; // last byte of the previous chunk, to see "\n\n" across chunk boundaries
  const over = (chunk: Uint8Array): boolean => {
    if (!perEvent) return (size += chunk.length) > limit;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      // Bytes since the last blank line (the end of an event).
      if (c === 0x0a && last === 0x0a) size = 0;
      else if (++size > limit) return true;
      if (c !== 0x0d) last = c;
    }
    return false;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        done();
        controller.error(error);
        return;
      }
      if (next.done) {
        done();
        controller.close();
        return;
      }
      if (over(next.value)) {
        done();
        controller.error(tooLarge(limit));
        void reader.cancel().catch(() => undefined);
        return;
      }
      controller.enqueue(next.value);
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
}

/** Wraps the global `fetch`. */
export function boundedFetch(options: { maxBytes: number; token?: string | undefined; headers?: Record<string, string> | undefined }): typeof fetch {
  const { maxBytes, token } = options;
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    // The transport passes one long-lived signal to every request; fetch would leave a listener on
    // it per request until garbage collection. Each request gets its own signal instead, linked to
    // the transport's by one listener that is removed as soon as the answer is read.
    const outer = init.signal ?? undefined;
    const own = new AbortController();
    const forward = (): void => own.abort(outer?.reason);
    if (outer?.aborted) own.abort(outer.reason);
    else outer?.addEventListener('abort', forward, { once: true });
    const done = (): void => outer?.removeEventListener('abort', forward);
    let response: Response;
    try {
      response = await fetch(input, { ...init, headers, signal: own.signal });
    } catch (error) {
      done();
      throw error;
    }
    const length = response.headers.get('content-length');
    // No header is no declaration (Number(null) would read as 0).
    const declared = length === null ? Number.NaN : Number(length);
    const type = response.headers.get('content-type') ?? '';
    const stream = type.includes('text/event-stream');
    if (!stream && Number.isFinite(declared) && declared > maxBytes) {
      done();
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    if (!response.body || declared === 0) {
      done();
      return response;
    }
    return new Response(bounded(response.body, maxBytes, stream, done), { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
