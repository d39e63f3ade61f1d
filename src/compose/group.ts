/**
 * `group(units).reload()`: reload several units as one — stage every member, then commit all of
 * them in one synchronous section, or none.
 *
 * @module
 */
import { ReloadkitError, errorInfo } from '../errors.js';
import { STAGE } from '../core/internal.js';
import { callOptionsError } from '../core/options.js';
import type { StageOutcome, StagedCandidate, Stageable } from '../core/internal.js';
import type { ReloadOptions, ReloadResult, Stage } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** A group member: a unit (anything with a name and the internal staging hook). */
export type GroupMember = { readonly name: string } & Stageable;

/** What happened to one member in a group reload. */
export interface GroupMemberResult {
  unit: string;
  /**
   * `committed` / `unchanged` as for a unit; `rejected` when this member failed a stage;
   * `discarded` when it staged fine but another member failed (its staged resource was disposed;
   * its `result` is `rejected` with the group error, at the failing member's stage).
   */
  status: 'committed' | 'unchanged' | 'rejected' | 'discarded';
  /** The member's own result (for `discarded`, the result of the discard). */
  result?: ReloadResult;
  /** Set for `rejected` members: the stage that failed. */
  stage?: Stage;
  /** Set for `rejected` members. */
  error?: { code: string; message: string };
}

/** Outcome of `group(...).reload()`. Never rejects for a member's load or validation failure. */
export interface GroupResult {
  /** `committed` if every member committed or was unchanged (and at least one committed). */
  status: 'committed' | 'unchanged' | 'rejected';
  /** True for `committed` and `unchanged`. */
  ok: boolean;
  /** One entry per member, in the group's order. */
  members: GroupMemberResult[];
  /** Names of the members that failed (empty unless rejected). */
  failed: string[];
  /** A `RELOADKIT_GROUP` error naming the failed members, when rejected. */
  error?: ReloadkitError;
  durationMs: number;
}

/** A set of units reloaded all-or-none. */
export interface Group {
  readonly units: readonly GroupMember[];
  /** Stages every member concurrently, then commits all in one tick, or none. */
  reload(opts?: ReloadOptions): Promise<GroupResult>;
}

/**
 * Per-unit group locks, taken in one global order so two groups that share units never deadlock
 * (each unit's own reload lock is held while a candidate is staged).
 */
const lockTails = new WeakMap<object, Promise<void>>();
const lockOrder = new WeakMap<object, number>();
let nextOrder = 0;

function orderOf(unit: object): number {
  let n = lockOrder.get(unit);
  if (n === undefined) lockOrder.set(unit, (n = nextOrder++));
  return n;
}

async function lockAll(units: readonly object[]): Promise<() => void> {
  const releases: (() => void)[] = [];
  for (const unit of [...units].sort((a, b) => orderOf(a) - orderOf(b))) {
    const previous = lockTails.get(unit) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    lockTails.set(unit, tail);
    await previous;
    releases.push(() => {
      release();
      if (lockTails.get(unit) === tail) lockTails.delete(unit);
    });
  }
  return () => releases.forEach((r) => r());
}

/**
 * Groups units so they reload together: `reload()` stages every member concurrently (load,
 * validate, dedupe, create, healthCheck) and, only if all of them staged or were unchanged,
 * commits every staged candidate in one synchronous section — a reader never sees members from
 * two different reloads. If any member fails, every staged candidate is discarded (its resource
 * disposed) and no member changes.
 *
 * @throws {TypeError} when a member is not a unit, or appears twice.
 * @example
 * ```ts
 * import { group } from 'reloadkit';
 * const both = group([primaryPool, replicaPool]);
 * const result = await both.reload({ reason: 'rotate credentials', actor: 'ops' });
 * if (!result.ok) console.error(result.error?.message, result.members);
 * ```
 */
export function group(units: readonly GroupMember[] | Record<string, GroupMember>): Group {
  const list = Array.isArray(units) ? [...units] : units !== null && typeof units === 'object' ? Object.values(units) : undefined;
  if (!list || list.length === 0) throw new TypeError(`group: expected a non-empty array (or object) of units, got ${describeValue(units)}`);
  const seen = new Set<unknown>();
  for (const [i, unit] of list.entries()) {
    const label = typeof unit?.name === 'string' ? `"${unit.name}"` : `#${i}`;
    if (typeof (unit as Partial<Stageable> | undefined)?.[STAGE] !== 'function') {
      throw new TypeError(`group: member ${label} is not a reloadable unit (it cannot stage a candidate)`);
    }
    if (seen.has(unit)) throw new TypeError(`group: member ${label} appears twice`);
    seen.add(unit);
  }
  const members = Object.freeze(list) as readonly GroupMember[];
  return {
    units: members,
    async reload(opts: ReloadOptions = {}) {
      const invalid = callOptionsError(opts, 'reload');
      if (invalid) throw invalid;
      const unlock = await lockAll(members);
      try {
        return await reloadGroup(members, opts);
      } finally {
        unlock();
      }
    },
  };
}

async function reloadGroup(members: readonly GroupMember[], opts: ReloadOptions): Promise<GroupResult> {
  const started = performance.now();
  const settled = await Promise.allSettled(members.map((m) => m[STAGE](opts)));
  const outcomes: { unit: string; outcome?: StageOutcome; thrown?: unknown }[] = settled.map((s, i) => {
    const unit = members[i]!.name;
    return s.status === 'fulfilled' ? { unit, outcome: s.value } : { unit, thrown: s.reason };
  });
  const failed = outcomes.filter((o) => o.thrown !== undefined || (o.outcome?.kind === 'done' && !o.outcome.result.ok)).map((o) => o.unit);

  if (failed.length === 0) {
    // The commit section: no await between the first and the last commit().
    const results: GroupMemberResult[] = outcomes.map((o) => {
      const outcome = o.outcome!;
      if (outcome.kind === 'done') return { unit: o.unit, status: outcome.result.status as 'unchanged', result: outcome.result };
      const result = outcome.staged.commit();
      return { unit: o.unit, status: result.status === 'committed' ? 'committed' : (result.status as 'unchanged'), result };
    });
    const anyCommitted = results.some((r) => r.status === 'committed');
    return { status: anyCommitted ? 'committed' : 'unchanged', ok: true, members: results, failed: [], durationMs: performance.now() - started };
  }

  const reasons = outcomes
    .filter((o) => failed.includes(o.unit))
    .map((o) => {
      const result = o.outcome?.kind === 'done' ? o.outcome.result : undefined;
      const info = errorInfo(result?.error ?? o.thrown);
      return `${o.unit}${result?.stage ? ` at ${result.stage}` : ''} (${info.code})`;
    });
  // The group error carries the stage at which the (first) failing member failed, so each
  // discarded member's attempt is reported like any rejection: a `rejected` event with that stage
  // (counted by the metrics adapters) and an audit record with the same stage and error. A member
  // that failed without a stage (a unit closed meanwhile) leaves it unset, as its own rejection does.
  const stage = outcomes.map((o) => (o.outcome?.kind === 'done' ? o.outcome.result.stage : undefined)).find((s) => s !== undefined);
  const message = `[group] nothing committed: ${failed.length} of ${members.length} member(s) failed: ${reasons.join(', ')}`;
  const error = new ReloadkitError('RELOADKIT_GROUP', message, stage === undefined ? {} : { stage });
  const staged: { index: number; staged: StagedCandidate }[] = [];
  outcomes.forEach((o, index) => {
    if (o.outcome?.kind === 'staged') staged.push({ index, staged: o.outcome.staged });
  });
  const discards = await Promise.allSettled(staged.map((s) => s.staged.discard(error)));
  const discarded = new Map(staged.map((s, i) => [s.index, discards[i]!] as const));

  const results: GroupMemberResult[] = outcomes.map((o, index) => {
    const discard = discarded.get(index);
    if (discard) {
      return discard.status === 'fulfilled'
        ? { unit: o.unit, status: 'discarded', result: discard.value }
        : { unit: o.unit, status: 'discarded', error: errorInfo(discard.reason) };
    }
    if (o.thrown !== undefined) return { unit: o.unit, status: 'rejected', error: errorInfo(o.thrown) };
    const result = (o.outcome as { kind: 'done'; result: ReloadResult }).result;
    if (result.ok) return { unit: o.unit, status: result.status as 'unchanged', result };
    const out: GroupMemberResult = { unit: o.unit, status: 'rejected', result };
    if (result.stage) out.stage = result.stage;
    if (result.error) out.error = errorInfo(result.error);
    return out;
  });
  return { status: 'rejected', ok: false, members: results, failed, error, durationMs: performance.now() - started };
}
