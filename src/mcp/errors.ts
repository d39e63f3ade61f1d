/**
 * Errors of the MCP adapter: every failed exchange with an MCP server (network, timeout, a lost
 * session, a JSON-RPC error, a tool error, a malformed or oversized answer) is one `McpError` with
 * a stable `code` and a `kind` that says what went wrong. A conflicting conditional update (a stale
 * expected context hash) has code `RELOADKIT_STALE_CONTEXT` and carries the service's current hash;
 * everything else `RELOADKIT_PROTOCOL`.
 *
 * @module
 */
import { ReloadkitError } from '../errors.js';
import type { ErrorContext } from '../errors.js';

/** What went wrong. */
export type McpErrorKind = 'network' | 'timeout' | 'aborted' | 'session' | 'rpc' | 'tool' | 'conflict' | 'malformed' | 'too-large' | 'closed';

export interface McpErrorDetail {
  kind: McpErrorKind;
  /** HTTP status, when one explains the failure (404: the session is gone). */
  status?: number;
  /** The service's error code (`UNKNOWN_MODEL`, `INFERENCE_FAILED`...) or the JSON-RPC error code. */
  serverCode?: string;
  /** On a conflict: the service's current context hash. */
  contextHash?: string;
}

/** A failed exchange with an MCP server. Messages name the call (`tools/call update_context`), never a payload. */
export class McpError extends ReloadkitError {
  readonly kind: McpErrorKind;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly contextHash: string | undefined;

  constructor(message: string, detail: McpErrorDetail, ctx: ErrorContext = {}) {
    super(detail.kind === 'conflict' ? 'RELOADKIT_STALE_CONTEXT' : 'RELOADKIT_PROTOCOL', message, ctx);
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
    super('RELOADKIT_ROLLOUT', message, ctx);
    this.step = step;
  }
}
