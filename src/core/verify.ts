/**
 * The verify window: after a reload commits, `verify.check(generation)` runs once `windowMs`
 * later; if it fails while that generation is still live, the unit rolls back to the generation
 * retained before it. A newer commit, or `close()`, cancels the pending check.
 *
 * @module
 * @internal
 */
import { VerifyError, formatMessage } from '../errors.js';
import { safeMessage } from '../support/safe-message.js';
import type { Clock, Generation } from '../types.js';

/** What the window needs from its unit. */
export interface VerifyWindowOptions<G extends Generation<any, any>> {
  unit: string;
  clock: Clock;
  windowMs: number;
  check: (generation: G) => boolean | Promise<boolean>;
  /** True while `generation` is still the live one (and the unit is open). */
  isLive: (generation: G) => boolean;
  /** The check failed while `generation` was live: roll back (the unit decides how). */
  onFailure: (generation: G, error: VerifyError) => Promise<void>;
}

/**
 * Pending verify checks of one unit.
 *
 * @example
 * ```ts
 * const verify = new VerifyWindow({ unit: 'svc', clock, windowMs: 10_000, check, isLive, onFailure });
 * verify.schedule(committed.gen); // checked in 10 s, if still live
 * verify.cancel();                // close()
 * ```
 */
export class VerifyWindow<G extends Generation<any, any>> {
  readonly #o: VerifyWindowOptions<G>;
  readonly #timers = new Set<unknown>();

  constructor(options: VerifyWindowOptions<G>) {
    this.#o = options;
  }

  /** Checks `generation` once its window ends. */
  schedule(generation: G): void {
    const handle = this.#o.clock.setTimeout(() => {
      this.#timers.delete(handle);
      void this.#run(generation);
    }, this.#o.windowMs);
    this.#timers.add(handle);
  }

  /** Cancels every pending check. */
  cancel(): void {
    for (const handle of this.#timers) this.#o.clock.clearTimeout(handle);
    this.#timers.clear();
  }

  async #run(generation: G): Promise<void> {
    if (!this.#o.isLive(generation)) return;
    let failure: string | undefined;
    try {
      if ((await this.#o.check(generation)) === false) failure = 'check returned false';
    } catch (error) {
      failure = safeMessage(error);
    }
    if (failure === undefined || !this.#o.isLive(generation)) return;
    const ctx = { unit: this.#o.unit, stage: 'verify' as const };
    await this.#o.onFailure(generation, new VerifyError(formatMessage(`verify failed for generation ${generation.id}`, ctx, failure), ctx));
  }
}
