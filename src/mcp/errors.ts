/**
 * Errors of the MCP client: every failure to talk to a model service (network, timeout, a non-2xx
 * status, a malformed or oversized response) is one `McpError` with a stable `code` and a `kind`
 * that says what went wrong. A 412 (stale context hash) has code `RELOADKIT_CONFLICT`; everything
 * else `RELOADKIT_PROTOCOL`.
 *
 * @module
 */
import { ReloadkitError } from '../errors.js';
import type { ErrorContext } from '../errors.js';

/** What went wrong on the wire. */
export type McpErrorKind = 'network' | 'timeout' | 'aborted' | 'status' | 'malformed' | 'too-large';

export interface McpErrorDetail {
  kind: McpErrorKind;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** The service's error code (`STALE_CONTEXT`, `UNKNOWN_MODEL`...), when its body was valid. */
  serverCode?: string;
  /** On a 412: the service's current context hash. */
  contextHash?: string;
}

/** A failed exchange with a model service. Messages name the call (`PUT /models/x/context`), never a payload. */
export class McpError extends ReloadkitError {
  readonly kind: McpErrorKind;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly contextHash: string | undefined;

  constructor(message: string, detail: McpErrorDetail, ctx: ErrorContext = {}) {
    super(detail.status === 412 ? 'RELOADKIT_CONFLICT' : 'RELOADKIT_PROTOCOL', message, ctx);
    this.kind = detail.kind;
    this.status = detail.status;
    this.serverCode = detail.serverCode;
    this.contextHash = detail.contextHash;
  }

  override toJSON(): ReturnType<ReloadkitError['toJSON']> & { kind: McpErrorKind; status?: number } {
    const out: ReturnType<ReloadkitError['toJSON']> & { kind: McpErrorKind; status?: number } = { ...super.toJSON(), kind: this.kind };
    if (this.status !== undefined) out.status = this.status;
    return out;
  }
}

/** A canary step failed its error-rate or latency check, or the candidate version never became ready. */
export class RolloutError extends ReloadkitError {
  /** The step (percent of traffic) that failed, when a step failed. */
  readonly step: number | undefined;
  constructor(message: string, step: number | undefined, ctx: ErrorContext = {}) {
    super('RELOADKIT_HEALTH', message, ctx);
    this.step = step;
  }
}
