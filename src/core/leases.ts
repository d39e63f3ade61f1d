/**
 * Leases and retirement, generic over a cell: anything that owns one created resource and counts
 * the leases on it (a unit's generation resource, a cache entry). A cell that leaves service is
 * *retired*: disposed at once when no lease holds it, otherwise when its last lease is released
 * or its drain timer fires, whichever comes first. Either way `dispose` runs exactly once.
 *
 * One unref policy for drain timers: a drain timer never keeps the process alive on its own,
 * except while `settle()` (a closing owner) is waiting for it, when it is ref'd again.
 *
 * @module
 * @internal
 */
import * as diagnostics from './diagnostics.js';
import { safeMessage } from '../support/safe-message.js';
import { runStage, type StageAbort } from './timeout.js';
import type { Clock, Generation, Lease } from '../types.js';

/** What the tracker needs from a cell. The owner creates cells; only the tracker writes these fields. */
export interface LeaseCell {
  /** Open leases. */
  leases: number;
  /** Left service (replaced, evicted, closed): disposed once drained. */
  retired: boolean;
  /** `dispose` has started (it never starts twice). */
  disposed: boolean;
}

/** How a tracker disposes and reports. `C` is the owner's cell type. */
export interface LeaseTrackerOptions<C extends LeaseCell> {
  clock: Clock;
  /** Owner name for error messages (`[db] dispose timed out after 10000 ms`). */
  unit: string;
  /** How long a retired cell may wait for its leases (ms). */
  drainMs: number;
  /** Per-dispose timeout (ms). */
  disposeTimeoutMs: number;
  /** Disposes a cell's resource; absent: nothing to dispose. Read its `abort.signal` only if needed. */
  dispose?: ((cell: C, abort: StageAbort) => unknown) | undefined;
  /** Where the cell came from, for error messages (a cache names the key by its hash). */
  describe?: (cell: C) => string | undefined;
  /** A cell's dispose finished (or there was none to run). */
  onDisposed?: (cell: C) => void;
  /** A retired cell's drain timer fired while `leases` were still open; it is disposed now. */
  onDrainTimeout?: (cell: C, leases: number) => void;
  /** `dispose` threw, rejected or timed out. Contained: reported, never thrown. */
  onError: (error: Error, where: 'dispose') => void;
  /** The generation a cell served (0: never committed), for the diagnostics channels; absent: none published. */
  generationOf?: (cell: C) => number;
}

/**
 * Tracks the leases and the retirement of an owner's cells.
 *
 * @example
 * ```ts
 * const leases = new LeaseTracker<MyCell>({ clock, unit: 'db', drainMs: 30_000, disposeTimeoutMs: 10_000,
 *   dispose: (cell) => cell.resource.end(), onError: (e) => console.error(e) });
 * const lease = leases.lease(cell, cell.resource, generation);
 * leases.retire(cell); // disposed once `lease.release()` runs, or after 30 s
 * await leases.settle(); // close(): wait for every drain and dispose
 * ```
 */
export class LeaseTracker<C extends LeaseCell> {
  readonly #o: LeaseTrackerOptions<C>;
  /** Retired cells still holding leases, with their drain timers. */
  readonly #draining = new Map<C, unknown>();
  readonly #disposals = new Set<Promise<void>>();
  /** Each cell's dispose in flight, for `disposeNow`. */
  readonly #pendingOf = new WeakMap<C, Promise<void>>();
  #leases = 0;
  #progress: (() => void) | undefined;
  #settling = false;

  constructor(options: LeaseTrackerOptions<C>) {
    this.#o = options;
  }

  /** Open leases across every cell. */
  get leases(): number {
    return this.#leases;
  }

  /** Retired cells waiting for their leases to drain. */
  get draining(): number {
    return this.#draining.size;
  }

  /** Takes a lease on `cell` (pair with exactly one `release`). The hot path of `use()`. */
  hold(cell: C): void {
    cell.leases++;
    this.#leases++;
  }

  /** Releases one lease; the last one on a retired cell disposes it. */
  release(cell: C): void {
    cell.leases--;
    this.#leases--;
    if (cell.leases === 0 && cell.retired && !cell.disposed) this.dispose(cell);
  }

  /** A `Lease` object on `cell` (idempotent `release()`, `using` works). */
  lease<R>(cell: C, value: R, generation: Generation<unknown, R>): Lease<R> {
    this.hold(cell);
    return new CellLease(this, cell, value, generation);
  }

  /** `cell` left service: disposed now, or once drained. Idempotent. */
  retire(cell: C): void {
    if (cell.retired || cell.disposed) return;
    cell.retired = true;
    if (cell.leases === 0) {
      this.dispose(cell);
      return;
    }
    const handle = this.#o.clock.setTimeout(() => {
      this.#draining.delete(cell);
      if (cell.disposed) return;
      this.#o.onDrainTimeout?.(cell, cell.leases);
      this.dispose(cell);
    }, this.#o.drainMs);
    if (!this.#settling) unref(handle);
    this.#draining.set(cell, handle);
    if (this.#o.generationOf) diagnostics.drainStarted(this.#o.unit, this.#o.generationOf(cell), cell.leases);
  }

  /**
   * Disposes `cell` exactly once, now, whatever its leases (a rejected candidate, a late
   * `create`, a drain timeout). Never call it on a cell that is still in service.
   */
  dispose(cell: C): void {
    if (cell.disposed) return;
    cell.disposed = true;
    cell.retired = true;
    if (this.#o.generationOf) diagnostics.disposeStarted(this.#o.unit, this.#o.generationOf(cell), cell.leases);
    if (this.#draining.has(cell)) {
      this.#o.clock.clearTimeout(this.#draining.get(cell));
      this.#draining.delete(cell);
    }
    const dispose = this.#o.dispose;
    if (dispose === undefined) {
      this.#disposed(cell);
      return;
    }
    const pending: Promise<void> = runStage('dispose', this.#o.disposeTimeoutMs, undefined, (abort) => dispose(cell, abort), {
      clock: this.#o.clock,
      unit: this.#o.unit,
      source: this.#o.describe?.(cell),
    })
      .then(
        () => undefined,
        (error: unknown) => this.#o.onError(error instanceof Error ? error : new Error(safeMessage(error)), 'dispose'),
      )
      .then(() => {
        this.#disposals.delete(pending);
        this.#disposed(cell);
      });
    this.#disposals.add(pending);
    this.#pendingOf.set(cell, pending);
  }

  /** `dispose(cell)`, resolving once its dispose settled (a prepared candidate's `discard()`). */
  disposeNow(cell: C): Promise<void> {
    this.dispose(cell);
    return this.#pendingOf.get(cell) ?? Promise.resolve();
  }

  /** Disposes every draining cell at once, without waiting for its leases (reported as drain timeouts). */
  disposeDraining(): void {
    for (const cell of [...this.#draining.keys()]) {
      this.#o.onDrainTimeout?.(cell, cell.leases);
      this.dispose(cell);
    }
  }

  /**
   * Resolves once no cell is draining and every dispose has settled. Drain timers are ref'd while
   * it waits: a closing owner keeps the process alive until its resources are disposed.
   */
  async settle(): Promise<void> {
    this.#settling = true;
    for (const handle of this.#draining.values()) ref(handle);
    try {
      while (this.#draining.size > 0 || this.#disposals.size > 0) {
        if (this.#disposals.size > 0) await Promise.all([...this.#disposals]);
        else await new Promise<void>((resolve) => (this.#progress = resolve));
      }
    } finally {
      this.#settling = false;
    }
  }

  #disposed(cell: C): void {
    if (this.#o.generationOf) diagnostics.disposeEnded(this.#o.unit, this.#o.generationOf(cell), cell.leases);
    this.#o.onDisposed?.(cell);
    const progress = this.#progress;
    if (progress) {
      this.#progress = undefined;
      progress();
    }
  }
}

/** A lease on one cell; `release()` reaches the tracker once. */
class CellLease<C extends LeaseCell, R> implements Lease<R> {
  readonly value: R;
  readonly generation: Generation<unknown, R>;
  #cell: C | undefined;
  readonly #tracker: LeaseTracker<C>;

  constructor(tracker: LeaseTracker<C>, cell: C, value: R, generation: Generation<unknown, R>) {
    this.#tracker = tracker;
    this.#cell = cell;
    this.value = value;
    this.generation = generation;
  }

  /** True until the first `release()`. */
  get active(): boolean {
    return this.#cell !== undefined;
  }

  release(): void {
    const cell = this.#cell;
    if (cell === undefined) return;
    this.#cell = undefined;
    this.#tracker.release(cell);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** Real-clock timers have `unref`/`ref`; fake-clock handles do not, and need neither. */
function unref(handle: unknown): void {
  if (handle !== null && typeof handle === 'object' && typeof (handle as { unref?: unknown }).unref === 'function') (handle as { unref(): void }).unref();
}

function ref(handle: unknown): void {
  if (handle !== null && typeof handle === 'object' && typeof (handle as { ref?: unknown }).ref === 'function') (handle as { ref(): void }).ref();
}
