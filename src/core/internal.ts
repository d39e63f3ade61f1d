/**
 * Transitional: the audit hook of members that do not use the member protocol (member.ts) yet. A
 * module-private symbol (not `Symbol.for`), off every public type. New code registers
 * `defineMember(member, { attachAudit })` instead; this module goes once nothing implements it.
 *
 * @module
 * @internal
 */
import type { AuditSink } from '../types.js';

/** `member[ATTACH_AUDIT](sink)` adds an audit sink (a registry's); returns a detach function. */
export const ATTACH_AUDIT: unique symbol = Symbol('reloadkit.attachAudit');

export interface AuditAttachable {
  [ATTACH_AUDIT](sink: AuditSink): () => void;
}
