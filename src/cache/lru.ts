/**
 * A bounded least-recently-used index: a `Map` from key to slot, and the recency list kept in two
 * `Uint32Array`s of slot numbers (the layout lru-cache uses). A hit is one map lookup and at most
 * five integer writes; no allocation, and no pointer writes for the garbage collector to track.
 * Each slot also carries one time stamp in a `Float64Array` (the cache's load time of the entry),
 * so a node needs no number field of its own: a double in an object is a separate heap box.
 *
 * Why not `lru-cache` underneath: the cache must not lose an entry's `dispose` to an eviction
 * while a lease holds it (drain-then-dispose), must never dispose an unchanged entry, and keeps
 * per-key freshness, failure and single-flight state that lru-cache would hold in a second map.
 * Owning these ~150 lines keeps reloadkit's runtime dependencies small, and an
 * eviction returns the evicted node to the caller instead of calling back into it.
 *
 * @module
 * @internal
 */

/** What the index holds: anything with a key (the cache's entries). */
export interface LruNode {
  readonly key: string;
}

/**
 * Bounded LRU index of nodes by key. Invariant: `newer[s]` is meaningful for every slot but the
 * head (most recent), `older[s]` for every slot but the tail (least recent).
 *
 * @example
 * ```ts
 * const lru = new Lru<Entry>(2);
 * lru.set(a); lru.set(b); lru.get('a'); // a is now most recent
 * lru.set(c); // returns { replaced: undefined, evicted: [b] }
 * ```
 */
export class Lru<N extends LruNode> {
  readonly max: number;
  private readonly slots = new Map<string, number>();
  private readonly nodes: Array<N | undefined>;
  private newer: Uint32Array;
  private older: Uint32Array;
  private stamps: Float64Array;
  private readonly free: number[] = [];
  /** Slots never used yet start here. */
  private fresh = 0;
  private head = 0;
  private tail = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1) throw new TypeError(`Expected \`max\` to be a positive integer below 2^32, got ${String(max)}.`);
    this.max = max;
    // Grown on demand up to `max`, so a large bound costs nothing until it is used.
    const initial = Math.min(max, 1024);
    this.nodes = [];
    this.newer = new Uint32Array(initial);
    this.older = new Uint32Array(initial);
    this.stamps = new Float64Array(initial);
  }

  get size(): number {
    return this.slots.size;
  }

  /** The node for `key`, marked most recently used. */
  get(key: string): N | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot !== this.head) this.bump(slot);
    return this.nodes[slot];
  }

  /** The slot of `key` (marked most recently used), or -1. The cache's hit path. */
  touch(key: string): number {
    const slot = this.slots.get(key);
    if (slot === undefined) return -1;
    if (slot !== this.head) this.bump(slot);
    return slot;
  }

  /** The node in a slot `touch` returned. */
  nodeAt(slot: number): N {
    return this.nodes[slot] as N;
  }

  /** The stamp of a slot `touch` returned. */
  stampAt(slot: number): number {
    return this.stamps[slot] as number;
  }

  /** The stamp of `key`'s node (undefined when absent), without touching recency. */
  stampOf(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.stamps[slot];
  }

  /** Sets the stamp of `key`'s node; false when absent. */
  restamp(key: string, stamp: number): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.stamps[slot] = stamp;
    return true;
  }

  /** The node for `key` without touching recency. */
  peek(key: string): N | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.nodes[slot];
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /**
   * Inserts `node` as most recently used. Returns the node it replaced (same key) and the node
   * evicted to stay within `max` (at most one); the caller retires them.
   */
  set(node: N, stamp = 0): { replaced: N | undefined; evicted: N[] } {
    const existing = this.slots.get(node.key);
    if (existing !== undefined) {
      const replaced = this.nodes[existing];
      this.nodes[existing] = node;
      this.stamps[existing] = stamp;
      if (existing !== this.head) this.bump(existing);
      return { replaced, evicted: [] };
    }
    const evicted: N[] = [];
    if (this.slots.size >= this.max) {
      const oldest = this.nodes[this.tail] as N;
      this.remove(this.tail);
      this.slots.delete(oldest.key);
      evicted.push(oldest);
    }
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.allocate();
    this.nodes[slot] = node;
    this.stamps[slot] = stamp;
    if (this.slots.size === 0) {
      this.head = slot;
      this.tail = slot;
    } else {
      this.older[slot] = this.head;
      this.newer[this.head] = slot;
      this.head = slot;
    }
    this.slots.set(node.key, slot);
    return { replaced: undefined, evicted };
  }

  /** Removes and returns the node for `key`. */
  delete(key: string): N | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    const node = this.nodes[slot];
    this.remove(slot);
    this.slots.delete(key);
    return node;
  }

  /** Every key (map order, not recency order). */
  keys(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** Every node (map order, not recency order). */
  *values(): IterableIterator<N> {
    for (const slot of this.slots.values()) yield this.nodes[slot] as N;
  }

  /** Calls `fn(node, stamp)` for every node (map order), without allocating per node. */
  forEach(fn: (node: N, stamp: number) => void): void {
    for (const slot of this.slots.values()) fn(this.nodes[slot] as N, this.stamps[slot] as number);
  }

  /** Removes every node and returns them. */
  clear(): N[] {
    const all = [...this.values()];
    this.slots.clear();
    this.nodes.length = 0;
    this.free.length = 0;
    this.fresh = 0;
    return all;
  }

  /** Moves a slot that is not the head to the head. */
  private bump(slot: number): void {
    const newer = this.newer[slot] as number;
    if (slot === this.tail) {
      this.tail = newer;
    } else {
      const older = this.older[slot] as number;
      this.newer[older] = newer;
      this.older[newer] = older;
    }
    this.older[slot] = this.head;
    this.newer[this.head] = slot;
    this.head = slot;
  }

  /** Unlinks a slot (still counted in `slots`) and frees it. */
  private remove(slot: number): void {
    if (this.slots.size > 1) {
      if (slot === this.head) {
        this.head = this.older[slot] as number;
      } else if (slot === this.tail) {
        this.tail = this.newer[slot] as number;
      } else {
        const older = this.older[slot] as number;
        const newer = this.newer[slot] as number;
        this.newer[older] = newer;
        this.older[newer] = older;
      }
    }
    this.nodes[slot] = undefined;
    this.free.push(slot);
  }

  private allocate(): number {
    const slot = this.fresh++;
    if (slot >= this.newer.length) this.grow();
    this.nodes.push(undefined); // keeps `nodes` dense: slot === nodes.length - 1
    return slot;
  }

  private grow(): void {
    const size = Math.min(this.max, this.newer.length * 2);
    const newer = new Uint32Array(size);
    const older = new Uint32Array(size);
    const stamps = new Float64Array(size);
    newer.set(this.newer);
    older.set(this.older);
    stamps.set(this.stamps);
    this.newer = newer;
    this.older = older;
    this.stamps = stamps;
  }
}
