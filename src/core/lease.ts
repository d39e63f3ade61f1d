/**
 * Leases: a hold on one generation's resource. While a lease is open the resource is not
 * disposed (unless its drain timeout fires). `release()` is idempotent and `using` works.
 *
 * @module
 */
import type { Generation, Lease } from '../types.js';
import type { ResourceCell } from './generation.js';

/**
 * A lease on `cell`; `onRelease` is called once, on the first `release()`.
 *
 * @example
 * ```ts
 * using lease = unit.acquire();
 * await lease.value.query('select 1');
 * ```
 */
export class ResourceLease<R> implements Lease<R> {
  readonly value: R;
  readonly generation: Generation<unknown, R>;
  #cell: ResourceCell<R> | undefined;
  readonly #onRelease: (cell: ResourceCell<R>) => void;

  constructor(cell: ResourceCell<R>, generation: Generation<unknown, R>, onRelease: (cell: ResourceCell<R>) => void) {
    this.value = cell.resource;
    this.generation = generation;
    this.#cell = cell;
    this.#onRelease = onRelease;
  }

  /** True until the first `release()`. */
  get active(): boolean {
    return this.#cell !== undefined;
  }

  release(): void {
    const cell = this.#cell;
    if (cell === undefined) return;
    this.#cell = undefined;
    this.#onRelease(cell);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
