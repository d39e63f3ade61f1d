/**
 * The pause gate of one unit. While paused, hints (watches, triggers, registry hints) and plain
 * `reload()` calls do not run: they leave ONE pending reload, with the trigger of the latest of
 * them, which `resume()` runs (through the scheduler, so it still coalesces with anything else).
 * A forced reload and a dry run pass the gate.
 *
 * @module
 * @internal
 */
import type { TriggerInfo, UnitStatus } from '../types.js';

/** Who paused, and when. */
export interface PauseState {
  since: number;
  reason?: string;
  actor?: string;
}

/**
 * The gate.
 *
 * @example
 * ```ts
 * const gate = new PauseGate();
 * gate.pause({ reason: 'incident' }, clock.now()); // true: it was not paused
 * gate.defer({ kind: 'signal', detail: 'SIGHUP' }); // true: held, not run
 * const pending = gate.resume(); // { kind: 'signal', detail: 'SIGHUP' }: run one reload with it
 * ```
 */
export class PauseGate {
  #state: PauseState | undefined;
  #pending: TriggerInfo | undefined;

  get paused(): boolean {
    return this.#state !== undefined;
  }

  /** Pauses; false if it already was (the first pause's reason and time stay). */
  pause(opts: { reason?: string | undefined; actor?: string | undefined }, now: number): boolean {
    if (this.#state !== undefined) return false;
    const state: PauseState = { since: now };
    if (opts.reason !== undefined) state.reason = opts.reason;
    if (opts.actor !== undefined) state.actor = opts.actor;
    this.#state = state;
    return true;
  }

  /** While paused: records `trigger` as the one pending reload and returns true. Otherwise false. */
  defer(trigger: TriggerInfo): boolean {
    if (this.#state === undefined) return false;
    this.#pending = trigger;
    return true;
  }

  /**
   * Ends the pause. Returns `undefined` if it was not paused, else `{ pending }`: the trigger of
   * the one reload to run now, if anything arrived meanwhile.
   */
  resume(): { pending: TriggerInfo | undefined } | undefined {
    if (this.#state === undefined) return undefined;
    const pending = this.#pending;
    this.#state = undefined;
    this.#pending = undefined;
    return { pending };
  }

  /** `status().paused`, while paused. */
  status(): UnitStatus['paused'] {
    if (this.#state === undefined) return undefined;
    return { ...this.#state, pending: this.#pending !== undefined };
  }
}
