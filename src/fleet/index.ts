/**
 * `reloadkit/fleet`: rollouts across a fleet of instances with etcd as the engine. Every
 * instance prepares the candidate against its own dependencies first, the controller collects
 * the verdicts, then the change rolls out by cohort with bake time and gates, and rolls back by
 * itself. All shared state lives in etcd (leases, transactions, watches, revisions); see
 * docs/fleet.md for the model.
 *
 * `etcd3` is an optional peer dependency: install it to use this entry point.
 *
 * @module
 */
export { fleetMember } from './member.js';
export type { FleetMemberOptions, FleetMemberHandle, FleetMemberStats } from './member.js';
export { rollout, resumeRollout, controlRollout, readRollout } from './rollout.js';
export type { RolloutOptions, RolloutStrategy, ResumeRolloutOptions } from './rollout.js';
export type { RolloutHandle, RolloutProgress, FleetAuditRecord } from './controller.js';
export { fleetCommand, selectMembers } from './command.js';
export type { FleetAction, FleetCommandOptions, FleetCommandOutcome, FleetCommandResult } from './command.js';
export { readFleetStatus, formatFleetStatus } from './status.js';
export type { FleetStatus, FleetStatusRow } from './status.js';
export { cohortOrder, cohortTargets, stepCount, parseSteps } from './cohort.js';
export type { RolloutStep } from './cohort.js';
export { decide, control, wantsCandidate, wantsPrepared } from './decide.js';
export type { Observation, Decided } from './decide.js';
export { matchesSelector, parseSelector } from './record.js';
export type { RolloutRecord, RolloutState, RolloutPhase, RolloutInstance, RolloutDecision, Verdict, VerdictKind, MemberHealth } from './record.js';
export type { GateSnapshot, GateInstance, Gate } from './gate.js';
export { fleetKeys } from './keys.js';
export { fleetCli, rolloutCli, parseDuration, FLEET_USAGE } from './cli.js';
export type { FleetCliIo } from './cli.js';
export { ctlWatchCount } from './watch.js';
export { RolloutLockedError } from '../errors.js';
