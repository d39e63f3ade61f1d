/**
 * What both metrics adapters (Prometheus, OpenTelemetry) share: finding the members to observe
 * (one unit, a list, or a registry — including members added later) and turning their events into
 * a few counting hooks. Each attempt ends with exactly one outcome event (`committed`,
 * `unchanged` or `rejected`), so counting those events counts attempts.
 *
 * @module
 * @internal
 */
import type { ReloadResult, UnitStatus } from '../types.js';

/** A unit, cache or any member that reports status and emits unit events. */
export interface ObservableMember {
  readonly name: string;
  status(): UnitStatus;
  on(event: string, fn: (...args: any[]) => void): unknown;
  off?(event: string, fn: (...args: any[]) => void): unknown;
}

/** A registry as the adapters see it: its members now, and an `added` event for later ones. */
export interface ObservableRegistry {
  units(): readonly ObservableMember[];
  on?(event: 'added', fn: (e: { member: ObservableMember }) => void): unknown;
  off?(event: 'added', fn: (e: { member: ObservableMember }) => void): unknown;
}

/** What to observe: a registry, a list of members, or one member. */
export type MetricsTarget = ObservableRegistry | readonly ObservableMember[] | ObservableMember;

/** The counting hooks an adapter implements. */
export interface MetricsHooks {
  /** One reload attempt finished (`committed`, `unchanged` or `rejected`). */
  attempt(unit: string, outcome: ReloadResult['status'], seconds: number): void;
  rolledBack(unit: string): void;
  error(unit: string, where: string): void;
  drainTimeout(unit: string): void;
}

/**
 * An extension adds instruments for some members (the cache adds hit/miss counters). It is
 * called for every observed member, now and later; it returns a function that detaches it.
 */
export type MemberExtension = (member: ObservableMember) => (() => void) | void;

/**
 * Observes `target` until `detach()`. Hooks that throw are swallowed: metrics never break reloads.
 *
 * @example
 * ```ts
 * const observed = observeMembers(registry, { attempt: (unit, outcome) => count(unit, outcome), rolledBack() {}, error() {}, drainTimeout() {} });
 * observed.members(); // every member, including those added later
 * observed.detach();
 * ```
 */
export function observeMembers(target: MetricsTarget, hooks: MetricsHooks, extensions: readonly MemberExtension[] = []): { members(): ObservableMember[]; detach(): void } {
  const attached = new Map<ObservableMember, () => void>();

  const attach = (member: ObservableMember): void => {
    if (attached.has(member)) return;
    const onAttempt = (e: { result?: ReloadResult }): void => {
      if (!e?.result) return;
      safe(() => hooks.attempt(member.name, e.result!.status, Math.max(0, e.result!.durationMs) / 1000));
    };
    const onRolledBack = (): void => safe(() => hooks.rolledBack(member.name));
    const onError = (e: { where?: string }): void => safe(() => hooks.error(member.name, typeof e?.where === 'string' ? e.where : 'unknown'));
    const onDrainTimeout = (): void => safe(() => hooks.drainTimeout(member.name));
    const listeners: [string, (...args: any[]) => void][] = [
      ['committed', onAttempt],
      ['unchanged', onAttempt],
      ['rejected', onAttempt],
      ['rolled-back', onRolledBack],
      ['error', onError],
      ['drain-timeout', onDrainTimeout],
    ];
    for (const [event, fn] of listeners) member.on(event, fn);
    const extra = extensions.map((ext) => {
      try {
        return ext(member);
      } catch {
        return undefined;
      }
    });
    attached.set(member, () => {
      for (const [event, fn] of listeners) member.off?.(event, fn);
      for (const undo of extra) if (undo) safe(undo);
    });
  };

  const onAdded = (e: { member: ObservableMember }): void => attach(e.member);
  const registry = isRegistry(target) ? target : undefined;
  if (registry) {
    registry.units().forEach(attach);
    registry.on?.('added', onAdded);
  } else if (Array.isArray(target)) {
    (target as readonly ObservableMember[]).forEach(attach);
  } else {
    attach(target as ObservableMember);
  }

  return {
    members: () => [...attached.keys()],
    detach() {
      registry?.off?.('added', onAdded);
      for (const undo of attached.values()) undo();
      attached.clear();
    },
  };
}

function isRegistry(target: MetricsTarget): target is ObservableRegistry {
  return typeof (target as ObservableRegistry).units === 'function';
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // Failure is contained: a metrics hook that throws never breaks the pipeline.
  }
}

/** The value of `reloadkit_unit_ready`: the member's own `ready` field. */
export { isReady } from '../core/member.js';

/**
 * Each member's status, skipping any whose status() throws.
 *
 * @example
 * ```ts
 * statuses(registry.units()).map((s) => s.generation);
 * ```
 */
export function statuses(members: readonly ObservableMember[]): UnitStatus[] {
  const out: UnitStatus[] = [];
  for (const member of members) {
    try {
      out.push(member.status());
    } catch {}
  }
  return out;
}
