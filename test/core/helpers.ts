/**
 * Small helpers for the core tests: deferred promises, a controllable in-memory source, and a
 * resource factory that records creation and disposal so tests can check exactly-once disposal.
 */
import type { AuditSink, Hint, ReloadOptions, Source } from '../../src/index.js';
import { memberHooks, type StageOutcome } from '../../src/core/member.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise continuation run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An in-memory source whose value tests set, with a watch that tests can fire. */
export class MemorySource<Raw> implements Source<Raw> {
  value: Raw;
  reads = 0;
  readonly watchers = new Set<(h: Hint) => void>();
  /** When set, the next read waits for it. */
  gate: Promise<void> | undefined;
  /** When set, every read throws it. */
  failWith: Error | undefined;

  constructor(value: Raw, readonly label = 'memory test') {
    this.value = value;
  }

  describe(): string {
    return this.label;
  }

  async read(): Promise<Raw> {
    this.reads++;
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return structuredClone(this.value);
  }

  watch(hint: (h: Hint) => void): () => void {
    this.watchers.add(hint);
    return () => this.watchers.delete(hint);
  }

  hint(h: Hint = { kind: 'memory' }): void {
    for (const w of this.watchers) w(h);
  }
}

export interface TrackedResource {
  id: number;
  version: unknown;
  disposed: number;
  healthChecked: boolean;
}

/** Creates resources and records every creation and disposal. */
export class ResourceTracker {
  readonly created: TrackedResource[] = [];
  #next = 1;

  create = (value: unknown): TrackedResource => {
    const r: TrackedResource = { id: this.#next++, version: (value as { version?: unknown } | null)?.version, disposed: 0, healthChecked: false };
    this.created.push(r);
    return r;
  };

  dispose = (r: TrackedResource): void => {
    r.disposed++;
  };

  get undisposed(): TrackedResource[] {
    return this.created.filter((r) => r.disposed === 0);
  }
}

/**
 * Stages a candidate on `unit` the way `group()` does (its scheduler's hold, then its stage hook):
 * the member protocol is internal, so tests reach it through this one helper.
 */
export async function stage(unit: object, opts: ReloadOptions = {}): Promise<StageOutcome> {
  const hooks = memberHooks(unit);
  if (!hooks?.stage || !hooks.scheduler) throw new Error('not a unit');
  return hooks.stage(opts, await hooks.scheduler.hold());
}

/** Attaches an audit sink the way a registry does; returns the detach function. */
export function attachAudit(member: object, sink: AuditSink): () => void {
  const attach = memberHooks(member)?.attachAudit;
  if (!attach) throw new Error('no audit hook');
  return attach(sink);
}
