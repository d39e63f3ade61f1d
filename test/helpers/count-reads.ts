/**
 * A source with its reads counted (one per load attempt of the unit reading it), for the tests of
 * permanent errors: a permanent error is read once, a transient one once per retry. And the check
 * those tests share: is the error, or one of its causes, marked permanent?
 *
 * @example
 * ```ts
 * const file = countReads(fileSource(path));
 * await assert.rejects(reloadable({ name: 'u', source: file.source, retry }).start(), permanentInChain);
 * assert.equal(file.reads, 1);
 * ```
 */
import type { Source } from '../../src/types.js';

export interface CountedSource<T> {
  source: Source<T>;
  readonly reads: number;
}

/**
 * `watch`: `'none'` (default) drops the source's watch; `'keep'` passes its hints on; `'mute'` keeps
 * it watching (a check that applies to watching sources still runs) but drops its hints, so no
 * read comes from one.
 */
export function countReads<T>(source: Source<T>, { watch = 'none' }: { watch?: 'none' | 'keep' | 'mute' } = {}): CountedSource<T> {
  let reads = 0;
  const counted: Source<T> = {
    describe: () => source.describe(),
    read: (ctx) => {
      reads++;
      return source.read(ctx);
    },
  };
  if (watch !== 'none' && source.watch) {
    const inner = source.watch.bind(source);
    counted.watch = watch === 'keep' ? (hint) => inner(hint) : () => inner(() => undefined);
  }
  return {
    source: counted,
    get reads() {
      return reads;
    },
  };
}

/** True when `error` or one of its causes is marked `permanent`. */
export function permanentInChain(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if ((e as { permanent?: unknown }).permanent === true) return true;
  }
  return false;
}
