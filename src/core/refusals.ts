/**
 * The refused set of one unit: candidate hashes an operator (a rollback) or the verify window
 * judged bad. A refused candidate is never created nor committed without `force`; it is reported
 * once per distinct hash, so a storm of hints over a source that still holds the bad content costs
 * one audit record, not one per hint.
 *
 * What changes the set, in one place (`committed`):
 * - a rollback adds the hash it rolled back FROM, and un-refuses the hash it returned to;
 * - a failed verify adds the failed hash (`add`, before its rollback);
 * - a commit of a hash that was not refused clears the set (the source moved on);
 * - a forced commit of a refused hash un-refuses that hash only;
 * - a commit from lastKnownGood at start changes nothing (the source did not move on).
 *
 * Synchronous and free of I/O; the owner persists the list with lastKnownGood (`onChange`).
 *
 * @module
 * @internal
 */

/** How a commit came about, as far as the refused set cares. */
export interface CommitKind {
  action: 'start' | 'reload' | 'rollback' | string;
  /** The trigger's kind (`lastKnownGood` for a start from the persisted record). */
  trigger: string;
  /** The hash that went live. */
  hash: string;
  /** For a rollback: the live hash it rolled back from. */
  rolledBackFrom?: string | undefined;
}

/**
 * One unit's refused hashes.
 *
 * @example
 * ```ts
 * const refused = new RefusedSet(() => persist(refused.list()));
 * refused.committed({ action: 'rollback', trigger: 'rollback', hash: 'sha256:a', rolledBackFrom: 'sha256:b' });
 * refused.has('sha256:b'); // true
 * refused.firstReport('sha256:b'); // true, then false for the same hash
 * ```
 */
export class RefusedSet {
  /** Refused hashes, in the order they were refused. */
  readonly #hashes = new Set<string>();
  /** Refused hashes already reported once (an audit record, a `rejected` event). */
  readonly #reported = new Set<string>();
  readonly #onChange: () => void;

  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  get size(): number {
    return this.#hashes.size;
  }

  has(hash: string): boolean {
    return this.#hashes.has(hash);
  }

  /** The refused hashes, oldest first (a copy). */
  list(): string[] {
    return [...this.#hashes];
  }

  /** Refuses `hash` (a failed verify). */
  add(hash: string): void {
    if (this.#hashes.has(hash)) return;
    this.#hashes.add(hash);
    this.#reported.delete(hash);
    this.#onChange();
  }

  /** Empties the set; returns how many hashes it held. */
  clear(): number {
    const n = this.#hashes.size;
    this.#hashes.clear();
    this.#reported.clear();
    if (n > 0) this.#onChange();
    return n;
  }

  /** Restores a persisted list (at start), without reporting a change. Non-strings are ignored. */
  restore(hashes: readonly unknown[]): void {
    for (const hash of hashes) if (typeof hash === 'string' && hash !== '') this.#hashes.add(hash);
  }

  /**
   * True the first time a refusal of `hash` is reported since it was refused: the caller reports
   * it in full (audit, event); later refusals of the same hash are quiet.
   */
  firstReport(hash: string): boolean {
    if (this.#reported.has(hash)) return false;
    this.#reported.add(hash);
    return true;
  }

  /** Applies a commit's effect on the set (see the module comment). */
  committed(c: CommitKind): void {
    if (c.action === 'rollback') {
      let changed = this.#hashes.delete(c.hash);
      if (c.rolledBackFrom !== undefined && c.rolledBackFrom !== c.hash && !this.#hashes.has(c.rolledBackFrom)) {
        this.#hashes.add(c.rolledBackFrom);
        this.#reported.delete(c.rolledBackFrom);
        changed = true;
      }
      if (changed) this.#onChange();
      return;
    }
    if (c.trigger === 'lastKnownGood') return;
    if (this.#hashes.has(c.hash)) {
      // Forced over its refusal: that hash is wanted after all; the others stay refused.
      this.#hashes.delete(c.hash);
      this.#reported.delete(c.hash);
      this.#onChange();
      return;
    }
    this.clear();
  }
}
