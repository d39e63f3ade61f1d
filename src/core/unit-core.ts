/**
 * The privileged side of a unit, as its concern modules see it (start.ts, rollback.ts,
 * dry-run.ts): the seams it owns and the few operations that end an attempt. The unit facade
 * builds one `UnitCore` and delegates; nothing outside src/core/ ever sees it.
 *
 * @module
 * @internal
 */
import type { ClosedError, VerifyError } from '../errors.js';
import type { OperatorControls } from './controls.js';
import type { Generations, ResourceCell } from './generations.js';
import type { LastKnownGoodWriter } from './last-known-good.js';
import type { NormalizedOptions } from './options.js';
import type { Candidate, Outcome as PipelineOutcome, PipelineSpec } from './pipeline.js';
import type { Attempt, Reporter, UnitReport } from './report.js';
import type { Scheduler } from './scheduler.js';
import type { StageAbort } from './timeout.js';
import type { ReloadResult, Stage, TriggerInfo } from '../types.js';

export type Cell<R> = ResourceCell<R>;
export type Outcome<T, R> = PipelineOutcome<T, R, Cell<R>>;

/** Extra detail of a commit: the rollback target and the hash it left, the verify failure that caused it. */
export interface CommitExtra {
  target?: number;
  from?: string;
  cause?: VerifyError | undefined;
}

/** What the unit's concern modules may use. */
export interface UnitCore<T, R> {
  readonly name: string;
  readonly o: NormalizedOptions<T, R>;
  readonly spec: PipelineSpec<T, R, Cell<R>>;
  readonly report: Reporter;
  readonly outcomes: UnitReport<T, R>;
  readonly gens: Generations<T, R>;
  readonly scheduler: Scheduler;
  readonly ops: OperatorControls;
  readonly lkg: LastKnownGoodWriter | undefined;
  closed(): boolean;
  begin(action: Attempt['action'], trigger: TriggerInfo | undefined, meta: { reason?: string | undefined; actor?: string | undefined; forced?: boolean }): Attempt;
  /** The pipeline for one attempt (never throws, never commits); `given` skips the load. */
  attempt(a: Attempt, abort: StageAbort, force: boolean, given?: unknown): Promise<Outcome<T, R>>;
  /** Commits a candidate, or reports any other outcome. */
  settle(a: Attempt, outcome: Outcome<T, R>, extra?: CommitExtra): ReloadResult;
  rejected(a: Attempt, stage: Stage | undefined, error: Error, hash?: string): ReloadResult;
  /** The refused result of an attempt (reported in full once per hash). */
  refused(a: Attempt, hash: string): ReloadResult;
  /** The commit itself (synchronous; the caller holds the lock). */
  commit(a: Attempt, candidate: Candidate<T, R, Cell<R>>, extra?: CommitExtra): ReloadResult;
  closedError(what: string): ClosedError;
  /** Disposes a cell never committed; resolves once its dispose settled. */
  dispose(cell: Cell<R>): Promise<void>;
  /** Marks the unit degraded (served from lastKnownGood...) or not. */
  degrade(reason: string | undefined): void;
}
