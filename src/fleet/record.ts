/**
 * The shapes a fleet keeps in etcd: the rollout record (written only by its controller, every
 * write a transaction guarded by the record's mod revision), a member's verdict on a rollout, and
 * a member's registration. JSON-safe; hashes, stages and codes, never a config value (the raw
 * candidate has its own key, see keys.ts).
 *
 * @module
 */
import type { RolloutStep } from './cohort.js';

export type RolloutState = 'running' | 'paused' | 'done' | 'rejected' | 'rolled-back' | 'aborted';
/** Within a step: instances prepare, then commit, then the step bakes. */
export type RolloutPhase = 'prepare' | 'commit' | 'bake';

/** What a member says about a rollout, in `verdicts/<id>/<instance>`. */
export type VerdictKind = 'prepared' | 'rejected' | 'committed' | 'commit-failed' | 'rolled-back' | 'discarded';

export interface Verdict {
  instance: string;
  unit: string;
  verdict: VerdictKind;
  /** The candidate's hash as the member computed it. */
  hash?: string;
  stage?: string;
  code?: string;
  at: number;
}

/** One instance in a rollout record. */
export interface RolloutInstance {
  /** The step that reached it. */
  step: number;
  /** Its latest verdict as the controller last folded it in (`timeout`: no verdict in time). */
  verdict?: VerdictKind | 'timeout';
  stage?: string;
  code?: string;
  /** Set once the controller decided it commits: it must serve the candidate unless the rollout is rolled back or aborted. */
  commit?: true;
}

export interface RolloutDecision {
  at: number;
  step: number;
  action: 'start' | 'commit' | 'bake' | 'step' | 'done' | 'reject' | 'rollback' | 'pause' | 'resume' | 'abort';
  actor?: string;
  reason?: string;
  /** Instances the decision names (rejections, commit targets...). */
  instances?: string[];
}

export interface RolloutStrategyRecord {
  steps: RolloutStep[];
  twoPhase: boolean;
  maxRejections: number;
  /** How long a phase (prepare, commit) waits for live instances' verdicts. */
  phaseTimeoutMs: number;
  errorRateThreshold?: number;
  /** Requests a step's committed instances must have served before the error rate counts. */
  minRequests: number;
}

export interface RolloutRecord {
  version: 1;
  id: string;
  fleet: string;
  unit: string;
  /** The unit's canonical etcd key (written with the candidate when the rollout is done). */
  key: string;
  candidateHash: string;
  selector?: Record<string, string>;
  actor: string;
  reason: string;
  createdAt: number;
  strategy: RolloutStrategyRecord;
  state: RolloutState;
  step: number;
  phase: RolloutPhase;
  phaseStartedAt: number;
  bakeUntil?: number;
  instances: Record<string, RolloutInstance>;
  decisions: RolloutDecision[];
  /** Why the rollout ended when it did not end `done`: `gate`, `rejections`, `commit-failed`, `aborted`. */
  cause?: string;
  endedAt?: number;
  /**
   * When this version was decided, on its writer's clock. A version that only folds in verdicts
   * comes at least a second after the controller's previous write (see `decide`'s `foldAfter`).
   * Absent on records written before this field existed.
   */
  updatedAt?: number;
}

/** A live member's registration in `members/<instance>`. */
export interface MemberInfo {
  instance: string;
  labels: Record<string, string>;
  units: string[];
  pid: number;
  host: string;
  startedAt: number;
  reportedAt: number;
}

/** Health a member reports while serving `hash`: counts since it started serving it. */
export interface MemberHealth {
  hash: string | null;
  requests: number;
  errors: number;
}

export const TERMINAL: ReadonlySet<RolloutState> = new Set(['done', 'rejected', 'rolled-back', 'aborted']);

/** True when `labels` has every `key=value` of `selector` (no selector matches everything). */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Parses `zone=b,tier=web` into `{ zone: 'b', tier: 'web' }`. */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TypeError(`selector: expected \`key=value\`, got \`${part}\``);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** Parses JSON read from etcd, `undefined` when it is not an object (not ours). */
export function parseJson<T>(text: string | null | undefined): T | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
