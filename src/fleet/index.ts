/**
 * `reloadkit/fleet`: rollouts across a fleet of instances with etcd as the engine. Every
 * instance prepares the candidate against its own dependencies first, the controller collects
 * the verdicts, then the change rolls out by cohort with bake time and gates, and rolls back by
 * itself. All shared state lives in etcd (leases, transactions, watches, revisions); see
 * docs/fleet.md for the model.
 *
 * `etcd3` is an optional peer dependency: install it to use this entry point. The controller's
 * decision function, the cohort arithmetic and the CLI commands are internal (the `reloadkit`
 * CLI runs `fleet …` and `rollout …`); gauges are in `reloadkit/fleet/metrics`.
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
export { cohortOrder } from './cohort.js';
export type { RolloutStep } from './cohort.js';
export { matchesSelector, parseSelector } from './record.js';
export type { RolloutRecord, RolloutState, RolloutPhase, RolloutInstance, RolloutDecision, Verdict, VerdictKind, MemberHealth } from './record.js';
export type { GateSnapshot, GateInstance, Gate } from './gate.js';
export { fleetKeys } from './keys.js';
export { ctlWatchCount } from './watch.js';
export { RolloutLockedError } from '../errors.js';
