/**
 * Generations (committed states) and the resource cells behind them. A generation reaches
 * in-process code with its value and resource, but serializes to hashes only: `toJSON()` omits
 * both, so a status, audit record or HTTP body can never carry a config value.
 *
 * @module
 */
import type { Generation, GenerationInfo, TriggerInfo } from '../types.js';

/**
 * Copies a trigger down to `{ kind, detail }`, dropping anything else a hint carried.
 *
 * @example
 * ```ts
 * triggerInfo({ kind: 'file', detail: 'config.json' }); // { kind: 'file', detail: 'config.json' }
 * ```
 */
export function triggerInfo(trigger: { kind: string; detail?: string }): TriggerInfo {
  return trigger.detail === undefined ? { kind: String(trigger.kind) } : { kind: String(trigger.kind), detail: String(trigger.detail) };
}

/**
 * One committed state. Immutable; `toJSON()` gives `{ id, hash, committedAt, trigger }`.
 *
 * @example
 * ```ts
 * JSON.stringify(unit.current); // '{"id":3,"hash":"sha256:…","committedAt":…,"trigger":{"kind":"file"}}'
 * ```
 */
export class CommittedGeneration<T, R> implements Generation<T, R> {
  readonly id: number;
  readonly hash: string;
  readonly value: T;
  readonly resource: R;
  readonly committedAt: number;
  readonly trigger: TriggerInfo;

  constructor(id: number, hash: string, value: T, resource: R, committedAt: number, trigger: TriggerInfo) {
    this.id = id;
    this.hash = hash;
    this.value = value;
    this.resource = resource;
    this.committedAt = committedAt;
    this.trigger = trigger;
    Object.freeze(this);
  }

  toJSON(): GenerationInfo {
    return { id: this.id, hash: this.hash, committedAt: this.committedAt, trigger: this.trigger };
  }
}

/**
 * Bookkeeping for one created resource: its leases, whether it was retired, whether it was
 * disposed. A resource is disposed exactly once, and only after it stopped being live. Under
 * `keepPrevious` a rollback moves a warm cell back to live, so cells (not generations) own
 * resources.
 */
export class ResourceCell<R> {
  readonly resource: R;
  /** The generation that last held this resource (id 0: a candidate never committed). */
  info: GenerationInfo;
  leases = 0;
  retired = false;
  disposed = false;
  drainTimer: unknown = undefined;

  constructor(resource: R, info: GenerationInfo) {
    this.resource = resource;
    this.info = info;
  }
}

/** A retained generation: what rollback and lastKnownGood need (the raw candidate too). */
export interface RetainedSlot<T, R> {
  readonly gen: CommittedGeneration<T, R>;
  readonly raw: unknown;
  readonly cell: ResourceCell<R>;
}
