/**
 * The gap tracker: given the envelopes a subscriber receives, in whatever order the transport
 * delivers them, says for each one whether to deliver it (not a duplicate) and whether the
 * subscriber may have missed something before it (a gap).
 *
 * Per publisher id and epoch it keeps the highest sequence number delivered and the numbers
 * below it not seen yet (a bounded set: a late message fills its hole and is delivered without
 * a new gap; a number seen twice is a duplicate and is dropped).
 *
 * - The first message from a publisher is the baseline: what it sent before this subscriber
 *   first heard from it predates the subscription (the subscriber read fresh when it started).
 *   Lower numbers that arrive later (reordered) are delivered once each, without a gap.
 * - A number past `high + 1` is a `sequence` gap: the numbers in between were lost or are late.
 * - A known publisher with a new epoch restarted: its first message must be 1, anything higher
 *   is a `publisher-restart` gap (what the new instance sent first was lost). Late messages of
 *   the old epoch are still delivered (once): they name real changes.
 * - `rebase()` (after the transport itself reported a reconnect gap) makes the next message of
 *   every publisher a baseline again: the holes before it are already covered by that gap.
 *
 * Pure logic, no I/O; the clock is injected.
 *
 * @module
 */
import type { DeliveryEnvelope } from './envelope.js';

/** Why the subscriber may have missed messages. Mirrors `Hint['gap']['reason']`. */
export type GapReason = 'sequence' | 'reconnect' | 'publisher-restart';

/** A gap: what was loaded before `since` (epoch ms) cannot be proven fresh. */
export interface Gap {
  since: number;
  reason: GapReason;
}

/** What the tracker says about one envelope. */
export interface Observation {
  /** False for a duplicate (or a message of an epoch already replaced): do not deliver it. */
  deliver: boolean;
  gap?: Gap;
}

/** Options of {@link createGapTracker}. */
export interface GapTrackerOptions {
  /** Epoch-ms clock. Default `Date.now`. */
  now?: () => number;
  /** Most missing sequence numbers remembered per publisher (older holes are forgotten). Default 1024. */
  maxHoles?: number;
  /** Most publishers remembered (the least recently heard is forgotten first). Default 1024. */
  maxPublishers?: number;
}

/** See the module description. */
export interface GapTracker {
  observe(envelope: Pick<DeliveryEnvelope, 'pub' | 'epoch' | 'seq'>): Observation;
  /** The next message of every publisher is a new baseline (a reconnect gap covers the holes). */
  rebase(): void;
  /** Publishers currently tracked. */
  readonly size: number;
}

interface EpochState {
  /** Numbers below `floor` predate the baseline: delivered once each, never a gap. */
  floor: number;
  below: Set<number>;
  high: number;
  holes: Set<number>;
  rebased: boolean;
}

/** Epochs remembered per publisher (a late message of a forgotten one counts as a restart). */
const MAX_EPOCHS = 8;

/**
 * Creates a gap tracker.
 *
 * @example
 * ```ts
 * const tracker = createGapTracker();
 * tracker.observe({ pub: 'api', epoch: 'e1', seq: 1 }); // { deliver: true }
 * tracker.observe({ pub: 'api', epoch: 'e1', seq: 3 }); // { deliver: true, gap: { since, reason: 'sequence' } }
 * tracker.observe({ pub: 'api', epoch: 'e1', seq: 2 }); // { deliver: true } (late, fills the hole)
 * tracker.observe({ pub: 'api', epoch: 'e1', seq: 2 }); // { deliver: false } (duplicate)
 * ```
 */
export function createGapTracker(options: GapTrackerOptions = {}): GapTracker {
  const now = options.now ?? Date.now;
  const maxHoles = options.maxHoles ?? 1024;
  const maxPublishers = options.maxPublishers ?? 1024;
  // Maps keep insertion order: re-inserting on every message makes them least-recently-heard first.
  const publishers = new Map<string, Map<string, EpochState>>();

  const touch = <K, V>(map: Map<K, V>, key: K, value: V, max: number) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value as K);
  };

  /** Adds `from..to` to a bounded set, keeping the highest numbers (the ones that can still come). */
  const addRange = (set: Set<number>, from: number, to: number) => {
    for (let n = Math.max(from, to - maxHoles + 1); n <= to; n++) set.add(n);
    if (set.size > maxHoles) {
      const sorted = [...set].sort((a, b) => a - b);
      for (const n of sorted.slice(0, set.size - maxHoles)) set.delete(n);
    }
  };

  const baseline = (seq: number): EpochState => ({ floor: seq, below: new Set(), high: seq, holes: new Set(), rebased: false });

  return {
    observe({ pub, epoch, seq }) {
      const epochs = publishers.get(pub);
      if (epochs === undefined) {
        const fresh = new Map([[epoch, baseline(seq)]]);
        touch(publishers, pub, fresh, maxPublishers);
        return { deliver: true };
      }
      touch(publishers, pub, epochs, maxPublishers);
      const state = epochs.get(epoch);
      if (state === undefined) {
        // A new instance of a known publisher: it numbers from 1, so 1..seq-1 were lost (or are late).
        const rebased = [...epochs.values()].some((e) => e.rebased);
        const next: EpochState = { floor: 1, below: new Set(), high: seq, holes: new Set(), rebased: false };
        if (seq > 1 && !rebased) addRange(next.holes, 1, seq - 1);
        touch(epochs, epoch, next, MAX_EPOCHS);
        return seq > 1 && !rebased ? { deliver: true, gap: { since: now(), reason: 'publisher-restart' } } : { deliver: true };
      }
      touch(epochs, epoch, state, MAX_EPOCHS);
      if (seq < state.floor) {
        if (state.below.has(seq)) return { deliver: false };
        state.below.add(seq);
        if (state.below.size > maxHoles) state.below.delete(state.below.values().next().value as number);
        return { deliver: true };
      }
      if (seq > state.high) {
        // After a reconnect gap the numbers skipped are already covered: a new baseline, no gap.
        const skipped = seq > state.high + 1 && !state.rebased;
        if (skipped) addRange(state.holes, state.high + 1, seq - 1);
        state.high = seq;
        state.rebased = false;
        return skipped ? { deliver: true, gap: { since: now(), reason: 'sequence' } } : { deliver: true };
      }
      state.rebased = false;
      if (state.holes.delete(seq)) return { deliver: true };
      return { deliver: false };
    },
    rebase() {
      for (const epochs of publishers.values()) for (const state of epochs.values()) state.rebased = true;
    },
    get size() {
      return publishers.size;
    },
  };
}
