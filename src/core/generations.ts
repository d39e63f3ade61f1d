/**
 * The generation store of one unit: the live slot, the warm one (`keepPrevious`), the retained
 * history, generation ids and the commit itself. Synchronous and free of I/O: it decides which
 * cells leave service and hands them back; the owner retires them (leases.ts).
 *
 * A generation reaches in-process code with its value and resource, but serializes to hashes
 * only: `toJSON()` omits both, so a status, audit record or HTTP body never carries a value.
 *
 * @module
 * @internal
 */
import type { Provenance } from '../support/provenance.js';
import type { Generation, GenerationInfo, TriggerInfo } from '../types.js';

/**
 * Copies a trigger down to `{ kind, detail }`, dropping anything else a hint carried.
 *
 * @example
 * ```ts
 * triggerInfo({ kind: 'file', detail: 'config.json', keys: ['a'] }); // { kind: 'file', detail: 'config.json' }
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
 * One created resource and its lease bookkeeping (a `LeaseCell`). Cells, not generations, own
 * resources: under `keepPrevious` a rollback moves a warm cell back to live.
 */
export class ResourceCell<R> {
  readonly resource: R;
  /** The generation that last held this resource (id 0: a candidate never committed). */
  info: GenerationInfo;
  leases = 0;
  retired = false;
  disposed = false;

  constructor(resource: R, info: GenerationInfo) {
    this.resource = resource;
    this.info = info;
  }
}

/** A retained generation: what a rollback and lastKnownGood need (the raw candidate too). */
export interface Slot<T, R> {
  readonly gen: CommittedGeneration<T, R>;
  readonly raw: unknown;
  readonly cell: ResourceCell<R>;
  /** Which layer set each leaf, when the source attached it (names, never values). */
  readonly provenance: Provenance | undefined;
}

/** What a commit changed. */
export interface Committed<T, R> {
  readonly slot: Slot<T, R>;
  readonly previous: Slot<T, R> | undefined;
  /** Cells that left service with this commit: retire them. */
  readonly leaving: ResourceCell<R>[];
}

/**
 * The store.
 *
 * @example
 * ```ts
 * const gens = new Generations<Config, Pool>({ history: 5, keepPrevious: false });
 * const { slot, leaving } = gens.commit(candidate, trigger, clock.now());
 * leaving.forEach((cell) => leases.retire(cell));
 * ```
 */
export class Generations<T, R> {
  readonly #history: number;
  readonly #keepPrevious: boolean;
  #live: Slot<T, R> | undefined;
  /** keepPrevious: the previous live slot, its resource kept undisposed for an instant rollback. */
  #warm: Slot<T, R> | undefined;
  /** Retained generations, oldest first; the last one is live. */
  #retained: Slot<T, R>[] = [];
  #lastId = 0;
  /** The last live generation, kept for `status()` after `clear()`. */
  #last: GenerationInfo | undefined;

  constructor({ history, keepPrevious }: { history: number; keepPrevious: boolean }) {
    this.#history = history;
    this.#keepPrevious = keepPrevious;
  }

  get live(): Slot<T, R> | undefined {
    return this.#live;
  }

  get warm(): Slot<T, R> | undefined {
    return this.#warm;
  }

  /** The live generation: derived from the live slot, never a second field. */
  get current(): CommittedGeneration<T, R> | undefined {
    return this.#live?.gen;
  }

  /** The live generation, or the last one before `clear()`. */
  get last(): GenerationInfo | undefined {
    return this.#live?.gen.toJSON() ?? this.#last;
  }

  /** Retained generation ids, newest first (for messages). */
  get retainedIds(): number[] {
    return this.#retained.map((s) => s.gen.id).reverse();
  }

  /**
   * The commit: a new generation around `candidate.cell`, live at once. Returns the cells that
   * left service (the previous live one, or under `keepPrevious` the warm one it displaced).
   */
  commit(candidate: { raw: unknown; value: T; hash: string; cell: ResourceCell<R>; provenance: Provenance | undefined }, trigger: TriggerInfo, now: number): Committed<T, R> {
    const previous = this.#live;
    const gen = new CommittedGeneration<T, R>(++this.#lastId, candidate.hash, candidate.value, candidate.cell.resource, now, trigger);
    const slot: Slot<T, R> = { gen, raw: candidate.raw, cell: candidate.cell, provenance: candidate.provenance };
    candidate.cell.info = gen.toJSON();
    candidate.cell.retired = false;
    this.#live = slot;
    this.#retained.push(slot);
    if (this.#retained.length > this.#history + 1) this.#retained.splice(0, this.#retained.length - (this.#history + 1));
    const leaving: ResourceCell<R>[] = [];
    if (previous !== undefined) {
      if (this.#keepPrevious) {
        const oldWarm = this.#warm;
        this.#warm = previous;
        if (oldWarm !== undefined && oldWarm.cell !== slot.cell && oldWarm.cell !== previous.cell) leaving.push(oldWarm.cell);
      } else if (previous.cell !== slot.cell) {
        leaving.push(previous.cell);
      }
    }
    return { slot, previous, leaving };
  }

  /**
   * The slot a rollback returns to: generation `to`, or the one retained just before `from`
   * (default: the live one). A string says why there is none.
   */
  rollbackTarget(to: number | undefined, from: Slot<T, R> | undefined = this.#live): Slot<T, R> | 'live' | { missing: string } {
    if (from === undefined) return { missing: 'nothing has been committed yet' };
    if (to !== undefined) {
      if (to === from.gen.id) return 'live';
      const target = this.#retained.find((s) => s.gen.id === to);
      return target ?? { missing: `generation ${to} is not retained (retained: ${this.retainedIds.join(', ')}; history: ${this.#history})` };
    }
    const i = this.#retained.indexOf(from);
    return i > 0 ? this.#retained[i - 1]! : { missing: `no earlier generation is retained (history: ${this.#history})` };
  }

  /** True when `slot`'s cell is the warm one and still undisposed: a rollback reuses its resource. */
  isWarm(slot: Slot<T, R>): boolean {
    return this.#warm !== undefined && this.#warm.cell === slot.cell && !slot.cell.disposed;
  }

  /** Empties the store (close): returns the live and warm cells to retire. */
  clear(): ResourceCell<R>[] {
    const cells = [this.#live?.cell, this.#warm?.cell].filter((c): c is ResourceCell<R> => c !== undefined);
    this.#last = this.#live?.gen.toJSON() ?? this.#last;
    this.#live = undefined;
    this.#warm = undefined;
    this.#retained = [];
    return cells;
  }

  /** Retained generations, newest (the live one) first. */
  history(): GenerationInfo[] {
    const out: GenerationInfo[] = [];
    for (let i = this.#retained.length - 1; i >= 0; i--) out.push(this.#retained[i]!.gen.toJSON());
    return out;
  }
}
