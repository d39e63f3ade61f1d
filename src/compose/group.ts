/**
 * `group(units).reload()`: reload several units as one — stage every member, then commit all of
 * them in one synchronous section, or none.
 *
 * @module
 */
import { ClosedError, ReloadkitError, errorInfo, formatMessage } from '../errors.js';
import { memberHooks, type MemberHooks, type StageOutcome, type StagedCandidate } from '../core/member.js';
import { callOptionsError } from '../core/options.js';
import { Scheduler } from '../core/scheduler.js';
import type { ReloadOptions, ReloadResult, Stage } from '../types.js';
import { describeValue } from '../support/describe-value.js';

/** A group member: a unit made by `reloadable()` or `derive()`. */
export type GroupMember = { readonly name: string };

type Stager = Required<Pick<MemberHooks, 'scheduler' | 'stage'>>;

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
    const hooks = memberHooks(unit);
    if (hooks?.stage === undefined || hooks.scheduler === undefined) {
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
      if (opts.dryRun !== undefined || opts.candidate !== undefined) {
        throw new TypeError('group: `dryRun` and `candidate` are not group options: dry-run each member with `unit.reload({ dryRun: true })` (a group commits all or none; there is nothing to dry-run together).');
      }
      return reloadGroup(members, opts);
    },
  };
}

/**
 * Stages every open member under its scheduler's hold: every member's `minIntervalMs` throttle is
 * waited out first, then the locks are taken in one global order (so two groups that share units
 * never deadlock). A member closed meanwhile fails the group, as its own `reload()` would reject.
 */
async function stageAll(members: readonly GroupMember[], opts: ReloadOptions): Promise<PromiseSettledResult<StageOutcome>[]> {
  const stagers = members.map((m) => memberHooks(m) as Stager);
  const open = stagers.filter((s) => !s.scheduler.closed);
  const holds = await Scheduler.holdAll(open.map((s) => s.scheduler));
  return Promise.allSettled(
    stagers.map((s, i) => {
      const hold = holds[open.indexOf(s)];
      if (hold === undefined) {
        const ctx = { unit: members[i]!.name };
        return Promise.reject(new ClosedError(formatMessage('closed', ctx, 'reload() after close()'), ctx));
      }
      return s.stage(opts, hold);
    }),
  );
}

async function reloadGroup(members: readonly GroupMember[], opts: ReloadOptions): Promise<GroupResult> {
  const started = performance.now();
  const settled = await stageAll(members, opts);
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
  const discards = staged.map((s): PromiseSettledResult<ReloadResult> => {
    try {
      return { status: 'fulfilled', value: s.staged.discard(error) };
    } catch (reason) {
      return { status: 'rejected', reason };
    }
  });
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
