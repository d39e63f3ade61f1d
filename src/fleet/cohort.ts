/**
 * Which instances a rollout step reaches. Instances are ordered by a stable hash of their id, so a
 * rerun of the same rollout picks the same canaries; each step's count is cumulative (step 2 of
 * `[1, 25%, 100%]` reaches a quarter of the fleet, the canary included).
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** One step: a fixed number of instances or a percentage of the eligible ones, then a bake time. */
export interface RolloutStep {
  /** Cumulative number of instances reached by the end of this step. */
  instances?: number;
  /** Cumulative percentage (0–100] of the eligible instances (rounded up, at least 1). */
  percent?: number;
  /** How long the step's committed instances serve the candidate before the next step. @default 0 */
  bakeMs?: number;
}

/** The stable rank key of an instance: sha256 of its id, hex. */
export function cohortKey(instance: string): string {
  return createHash('sha256').update(instance).digest('hex');
}

/** Instances in rollout order: by {@link cohortKey}, then by id (a tie never happens in practice). */
export function cohortOrder(instances: Iterable<string>): string[] {
  return [...new Set(instances)]
    .map((id) => [cohortKey(id), id] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([, id]) => id);
}

/** How many of `total` eligible instances a step reaches (cumulative). */
export function stepCount(step: RolloutStep, total: number): number {
  if (total <= 0) return 0;
  if (step.instances !== undefined) return Math.min(total, step.instances);
  const percent = step.percent ?? 100;
  return Math.min(total, Math.max(1, Math.ceil((percent / 100) * total)));
}

/**
 * The instances step `step` adds: the first `stepCount` of the eligible ones in cohort order,
 * minus those an earlier step already reached.
 *
 * @example
 * ```ts
 * cohortTargets(['a', 'b', 'c', 'd'], { percent: 50 }, new Set()); // two of them, always the same two
 * ```
 */
export function cohortTargets(eligible: Iterable<string>, step: RolloutStep, alreadyReached: ReadonlySet<string>): string[] {
  const ordered = cohortOrder(eligible);
  return ordered.slice(0, stepCount(step, ordered.length)).filter((id) => !alreadyReached.has(id));
}

/** Throws a TypeError naming the first invalid step. */
export function checkSteps(who: string, steps: unknown): asserts steps is RolloutStep[] {
  if (!Array.isArray(steps) || steps.length === 0) throw new TypeError(`${who}: expected \`strategy.steps\` to be a non-empty array`);
  steps.forEach((step: RolloutStep, i) => {
    if (typeof step !== 'object' || step === null) throw new TypeError(`${who}: expected \`strategy.steps[${i}]\` to be an object`);
    const { instances, percent, bakeMs } = step;
    if ((instances === undefined) === (percent === undefined)) throw new TypeError(`${who}: \`strategy.steps[${i}]\` needs exactly one of \`instances\` or \`percent\``);
    if (instances !== undefined && (!Number.isInteger(instances) || instances < 1)) throw new TypeError(`${who}: expected \`strategy.steps[${i}].instances\` to be an integer >= 1, got \`${String(instances)}\``);
    if (percent !== undefined && (typeof percent !== 'number' || !(percent > 0 && percent <= 100))) throw new TypeError(`${who}: expected \`strategy.steps[${i}].percent\` to be in (0, 100], got \`${String(percent)}\``);
    if (bakeMs !== undefined && (!Number.isFinite(bakeMs) || bakeMs < 0)) throw new TypeError(`${who}: expected \`strategy.steps[${i}].bakeMs\` to be a number >= 0, got \`${String(bakeMs)}\``);
  });
  const last = steps[steps.length - 1] as RolloutStep;
  if (last.percent !== 100) throw new TypeError(`${who}: the last step of \`strategy.steps\` must be \`{ percent: 100 }\` (a rollout ends on every selected instance)`);
}

/**
 * Parses the CLI's step list: `1,25%,100%` → `[{ instances: 1 }, { percent: 25 }, { percent: 100 }]`,
 * each with `bakeMs` (the last one bakes 0).
 */
export function parseSteps(text: string, bakeMs: number): RolloutStep[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  return parts.map((part, i) => {
    const bake = i === parts.length - 1 ? 0 : bakeMs;
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(part);
    if (percent) return { percent: Number(percent[1]), bakeMs: bake };
    if (/^\d+$/.test(part)) return { instances: Number(part), bakeMs: bake };
    throw new TypeError(`rollout: cannot read step \`${part}\` (expected a count such as 1 or a percentage such as 25%)`);
  });
}
