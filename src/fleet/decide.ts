/**
 * The controller's decisions as a pure state machine: given a rollout record and what the
 * controller observes (live eligible instances, their verdicts, the gate, the clock), the next
 * record. The controller (rollout.ts) writes each new record in a transaction guarded by the old
 * one's mod revision, so a decision is taken once even by two controllers, and a controller that
 * crashed is resumed by reading the record and calling this again: every step is idempotent.
 *
 * @module
 */
import { cohortTargets } from './cohort.js';
import { TERMINAL, type RolloutDecision, type RolloutRecord, type RolloutStrategyRecord, type Verdict } from './record.js';

export interface Observation {
  now: number;
  /** Live instances that run the unit and match the selector. */
  eligible: ReadonlySet<string>;
  /** The latest verdict of each instance on this rollout. */
  verdicts: Readonly<Record<string, Verdict>>;
  /** The gate over the baking instances: `fail` rolls back. Only read during `bake`. */
  gate: 'pass' | 'fail' | 'unknown';
  /**
   * The earliest time a record that would only fold in new verdicts (no decision) is written.
   * Every record version wakes the whole fleet, and verdicts already live under their own keys,
   * so the controller spaces such writes; a decision always writes at once, every verdict folded
   * in. Absent: written at once.
   */
  foldAfter?: number;
}

export interface Decided {
  record: RolloutRecord;
  /** True when `record` differs from the input (write it). */
  changed: boolean;
  /** When to look again if nothing happens before (a phase timeout, the end of a bake). */
  wakeAt?: number;
}

const clone = (record: RolloutRecord): RolloutRecord => structuredClone(record);

/** Begins a rollout record at step 0 with the instances it reaches. */
export function startRecord(
  base: Omit<RolloutRecord, 'state' | 'step' | 'phase' | 'phaseStartedAt' | 'instances' | 'decisions' | 'version'>,
  eligible: ReadonlySet<string>,
  now: number,
): RolloutRecord {
  const record: RolloutRecord = { ...base, version: 1, state: 'running', step: -1, phase: 'bake', phaseStartedAt: now, instances: {}, decisions: [], updatedAt: now };
  record.decisions.push({ at: now, step: 0, action: 'start', actor: base.actor, reason: base.reason });
  enterStep(record, 0, eligible, now);
  return record;
}

function enterStep(record: RolloutRecord, step: number, eligible: ReadonlySet<string>, now: number): void {
  const spec = record.strategy.steps[step];
  if (!spec) throw new Error(`rollout ${record.id}: no step ${step}`);
  const targets = cohortTargets(eligible, spec, new Set(Object.keys(record.instances)));
  for (const id of targets) record.instances[id] = { step };
  record.step = step;
  record.phaseStartedAt = now;
  delete record.bakeUntil;
  if (record.strategy.twoPhase) {
    record.phase = 'prepare';
  } else {
    for (const id of targets) record.instances[id]!.commit = true;
    record.phase = 'commit';
  }
  if (step > 0) record.decisions.push({ at: now, step, action: 'step', instances: targets });
  if (!record.strategy.twoPhase) record.decisions.push({ at: now, step, action: 'commit', instances: targets });
}

function end(record: RolloutRecord, now: number, cause: string, instances: string[]): void {
  const committed = Object.values(record.instances).some((i) => i.commit);
  record.state = committed ? 'rolled-back' : 'rejected';
  record.cause = cause;
  record.endedAt = now;
  record.decisions.push({ at: now, step: record.step, action: committed ? 'rollback' : 'reject', reason: cause, instances });
}

/** Folds the members' verdicts into the record's instances (a `timeout` stays unless a verdict arrives). */
function foldVerdicts(record: RolloutRecord, verdicts: Observation['verdicts']): void {
  for (const [id, entry] of Object.entries(record.instances)) {
    const v = verdicts[id];
    if (!v) continue;
    if (entry.verdict === v.verdict && entry.stage === v.stage && entry.code === v.code) continue;
    entry.verdict = v.verdict;
    if (v.stage) entry.stage = v.stage;
    else delete entry.stage;
    if (v.code) entry.code = v.code;
    else delete entry.code;
  }
}

/** One transition; `decide` repeats it until nothing changes. */
function stepOnce(record: RolloutRecord, obs: Observation, strategy: RolloutStrategyRecord): { moved: boolean; wakeAt?: number } {
  const entries = Object.entries(record.instances);
  const here = entries.filter(([, e]) => e.step === record.step);
  const deadline = record.phaseStartedAt + strategy.phaseTimeoutMs;
  const failedCommits = entries.filter(([, e]) => e.commit && (e.verdict === 'commit-failed' || e.verdict === 'rolled-back')).map(([id]) => id);
  if (failedCommits.length > 0) {
    end(record, obs.now, 'commit-failed', failedCommits);
    return { moved: true };
  }
  const rejections = () => here.filter(([, e]) => e.verdict === 'rejected' || e.verdict === 'timeout').map(([id]) => id);

  if (record.phase === 'prepare') {
    if (rejections().length > strategy.maxRejections) {
      end(record, obs.now, 'rejections', rejections());
      return { moved: true };
    }
    const pending = here.filter(([id, e]) => e.verdict === undefined && obs.eligible.has(id));
    if (pending.length > 0) {
      if (obs.now < deadline) return { moved: false, wakeAt: deadline };
      for (const [, e] of pending) {
        e.verdict = 'timeout';
        e.stage = 'prepare';
        e.code = 'RELOADKIT_TIMEOUT';
      }
      return { moved: true };
    }
    const prepared = here.filter(([id, e]) => e.verdict === 'prepared' && obs.eligible.has(id)).map(([id]) => id);
    for (const id of prepared) record.instances[id]!.commit = true;
    record.phase = 'commit';
    record.phaseStartedAt = obs.now;
    record.decisions.push({ at: obs.now, step: record.step, action: 'commit', instances: prepared });
    return { moved: true };
  }

  if (record.phase === 'commit') {
    if (!strategy.twoPhase && rejections().length > strategy.maxRejections) {
      end(record, obs.now, 'rejections', rejections());
      return { moved: true };
    }
    const pending = here.filter(([id, e]) => e.commit && e.verdict !== 'committed' && e.verdict !== 'rejected' && obs.eligible.has(id));
    if (pending.length > 0) {
      if (obs.now < deadline) return { moved: false, wakeAt: deadline };
      end(record, obs.now, 'commit-timeout', pending.map(([id]) => id));
      return { moved: true };
    }
    record.phase = 'bake';
    record.phaseStartedAt = obs.now;
    record.bakeUntil = obs.now + (strategy.steps[record.step]?.bakeMs ?? 0);
    record.decisions.push({ at: obs.now, step: record.step, action: 'bake' });
    return { moved: true };
  }

  // bake
  if (obs.gate === 'fail') {
    end(record, obs.now, 'gate', here.filter(([, e]) => e.commit).map(([id]) => id));
    return { moved: true };
  }
  const bakeUntil = record.bakeUntil ?? obs.now;
  if (obs.now < bakeUntil) return { moved: false, wakeAt: bakeUntil };
  if (record.step >= strategy.steps.length - 1) {
    record.state = 'done';
    record.endedAt = obs.now;
    record.decisions.push({ at: obs.now, step: record.step, action: 'done' });
    return { moved: true };
  }
  enterStep(record, record.step + 1, obs.eligible, obs.now);
  return { moved: true };
}

/**
 * The next record. Terminal and paused records do not move.
 *
 * @example
 * ```ts
 * const { record, changed, wakeAt } = decide(current, { now: Date.now(), eligible, verdicts, gate: 'pass' });
 * ```
 */
export function decide(input: RolloutRecord, obs: Observation): Decided {
  if (TERMINAL.has(input.state) || input.state === 'paused') return { record: input, changed: false };
  const record = clone(input);
  foldVerdicts(record, obs.verdicts);
  let wakeAt: number | undefined;
  let decided = false;
  // Each transition either moves the phase forward or ends the rollout: bounded by the steps.
  for (let i = 0; i < 4 * record.strategy.steps.length + 4; i++) {
    const result = stepOnce(record, obs, record.strategy);
    wakeAt = result.wakeAt;
    decided ||= result.moved;
    if (!result.moved || TERMINAL.has(record.state)) break;
  }
  const changed = JSON.stringify(record) !== JSON.stringify(input);
  if (changed && !decided && obs.foldAfter !== undefined && obs.now < obs.foldAfter) {
    // Only verdicts folded in: not worth waking the fleet for yet.
    return { record: input, changed: false, wakeAt: Math.min(wakeAt ?? Infinity, obs.foldAfter) };
  }
  if (changed) record.updatedAt = obs.now;
  return wakeAt === undefined ? { record, changed } : { record, changed, wakeAt };
}

/** An operator's control on a record: pause, resume or abort (a no-op when it does not apply). */
export function control(input: RolloutRecord, action: 'pause' | 'resume' | 'abort', actor: string | undefined, now: number, reason?: string): Decided {
  if (TERMINAL.has(input.state)) return { record: input, changed: false };
  if (action === 'pause' && input.state === 'paused') return { record: input, changed: false };
  if (action === 'resume' && input.state !== 'paused') return { record: input, changed: false };
  const record = clone(input);
  record.updatedAt = now;
  const decision: RolloutDecision = { at: now, step: record.step, action };
  if (actor) decision.actor = actor;
  if (reason) decision.reason = reason;
  record.decisions.push(decision);
  if (action === 'pause') record.state = 'paused';
  else if (action === 'resume') {
    record.state = 'running';
    // The pause does not eat the phase's time: its deadline counts from the resume.
    record.phaseStartedAt = now;
    if (record.phase === 'bake' && record.bakeUntil !== undefined) {
      const paused = [...record.decisions].reverse().find((d) => d.action === 'pause');
      if (paused) record.bakeUntil += now - paused.at;
    }
  } else {
    record.state = 'aborted';
    record.cause = 'aborted';
    record.endedAt = now;
  }
  return { record, changed: true };
}

/**
 * What one instance must serve according to the record: the candidate, or what it served before.
 * A member follows this; after any crash, every member ends on the hash it names.
 */
export function wantsCandidate(record: RolloutRecord, instance: string): boolean {
  const entry = record.instances[instance];
  if (!entry?.commit) return false;
  return record.state === 'running' || record.state === 'paused' || record.state === 'done';
}

/** True when the instance should be holding a prepared candidate now. */
export function wantsPrepared(record: RolloutRecord, instance: string): boolean {
  const entry = record.instances[instance];
  if (!entry || entry.commit || TERMINAL.has(record.state)) return false;
  return entry.step === record.step && record.phase === 'prepare';
}
