/**
 * `natsKvSource`: a unit's candidate read from one key of a NATS JetStream KV bucket, with hints
 * from a KV watch that resumes from the last revision it saw.
 *
 * - The watch starts with the key's last value (a hint: the unit re-reads once the watch is
 *   active, so nothing between the first read and the watch is lost), then every update.
 * - When the connection comes back (`reconnect` status) or the watch ends (its consumer was lost
 *   with a restarted server), the watch is opened again from the last seen revision + 1 and the
 *   unit re-reads: a change made while the client was away is committed after reconnect.
 *
 * @module
 */
import type { KV, KvEntry, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { expectNonEmptyString, expectObject, expectOptionalFunction } from '../support/check-option.js';
import { LoadError } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { parseStoreValue, readStoreValue } from '../support/store-value.js';
import type { Hint, Source } from '../types.js';

/** Options of {@link natsKvSource}. */
export interface NatsKvSourceOptions {
  /**
   * Turns the stored text (UTF-8) into the raw candidate.
   * @default JSON.parse
   * @example
   * ```ts
   * natsKvSource(kv, 'config', { parse: (text) => Object.fromEntries(new URLSearchParams(text)) });
   * ```
   */
  parse?: (text: string) => unknown;
  /**
   * The connection the bucket uses, to re-watch and re-read on reconnect.
   * @default the bucket's own (`kv.js.nc`, present on buckets from `new Kvm(nc).open()`)
   * @example
   * ```ts
   * natsKvSource(kv, 'config', { connection: nc });
   * ```
   */
  connection?: NatsConnection;
  /**
   * Delay in ms before re-opening a watch that ended, doubled after each failure up to 5 s.
   * @default 100
   * @example
   * ```ts
   * natsKvSource(kv, 'config', { retryMs: 250 });
   * ```
   */
  retryMs?: number;
}

/** The options `natsKvSource` reads; any other key is a typo and throws. */
const KNOWN_KEYS = ['parse', 'connection', 'retryMs'] as const;

/** A NATS KV `Source`; `revision` is the last revision read or watched. */
export interface NatsKvSource extends Source<unknown> {
  readonly revision: number;
}

const RETRY_MAX_MS = 5_000;

function checkOptions(kv: unknown, key: unknown, options: unknown): void {
  if (typeof kv !== 'object' || kv === null || typeof (kv as KV).get !== 'function' || typeof (kv as KV).watch !== 'function') {
    throw new TypeError('natsKvSource: expected a KV bucket (new Kvm(nc).open(name)) as the first argument');
  }
  expectNonEmptyString('natsKvSource', 'key', key);
  expectObject('natsKvSource', 'options', options);
  rejectUnknownKeys('natsKvSource', options, KNOWN_KEYS);
  const { parse, connection, retryMs } = options as NatsKvSourceOptions;
  expectOptionalFunction('natsKvSource', 'parse', parse);
  if (connection !== undefined && (typeof connection !== 'object' || connection === null || typeof connection.status !== 'function')) {
    throw new TypeError('natsKvSource: expected `connection` to be a NatsConnection');
  }
  if (retryMs !== undefined && (!Number.isFinite(retryMs) || retryMs <= 0)) {
    throw new TypeError(`natsKvSource: expected \`retryMs\` to be a positive number, got \`${String(retryMs)}\``);
  }
}

/**
 * True for a NATS failure that retrying cannot fix: the connection's user may not publish or
 * subscribe the KV subjects (`Permissions Violation`), or is not authorized at all. Matched by
 * name and message, as the client wraps them (a `RequestError` whose cause is the violation).
 */
export function isPermanentNatsError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.name === 'PermissionViolationError' || e.name === 'AuthorizationError') return true;
    if (/permissions violation|authorization violation/i.test(e.message)) return true;
  }
  return false;
}

/** Runs a KV request; a permanent failure rejects as a `LoadError` marked `permanent`. */
function failPermanently<T>(request: Promise<T>, source: string): Promise<T> {
  return request.catch((error: unknown) => {
    if (!isPermanentNatsError(error)) throw error;
    throw new LoadError((error as Error).message, { source, cause: error, permanent: true });
  });
}

/** What we need of a running watch: iterate it, stop it. */
type WatchIterator = AsyncIterable<KvWatchEntry> & { stop(): void };

/**
 * A `Source` reading one key of a NATS JetStream KV bucket, with hints from a KV watch that
 * resumes from the last seen revision after a reconnect.
 *
 * @example
 * ```ts
 * import { connect } from '@nats-io/transport-node';
 * import { Kvm } from '@nats-io/kv';
 * import { natsKvSource } from 'reloadkit/nats';
 *
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const kv = await new Kvm(nc).create('app');
 * const config = reloadable({ name: 'config', source: natsKvSource(kv, 'config'), schema });
 * ```
 */
export function natsKvSource(kv: KV, key: string, options: NatsKvSourceOptions = {}): NatsKvSource {
  checkOptions(kv, key, options);
  const bucket = (kv as { bucket?: unknown }).bucket;
  const description = `nats kv ${typeof bucket === 'string' ? `${bucket}/` : ''}${key}`;
  const parse = options.parse ?? ((text: string) => JSON.parse(text) as unknown);
  const retryMin = options.retryMs ?? 100;
  const connection = options.connection ?? (kv as { js?: { nc?: NatsConnection } }).js?.nc;
  let revision = 0;

  const seen = (entry: KvEntry) => {
    if (entry.revision > revision) revision = entry.revision;
  };

  return {
    get revision() {
      return revision;
    },
    describe: () => description,
    async read({ signal }) {
      // A permissions violation is permanent: the unit's retries stop at once.
      const entry = await readStoreValue(() => failPermanently(kv.get(key), description), signal, description);
      if (entry === null || entry.operation !== 'PUT') {
        if (entry) seen(entry);
        throw new LoadError(`${description} does not exist${entry ? ' (deleted)' : ''}`, { source: description });
      }
      seen(entry);
      return parseStoreValue(() => parse(entry.string()), description, description);
    },
    watch(hint: (h: Hint) => void) {
      let closed = false;
      let current: WatchIterator | undefined;
      let wake: (() => void) | undefined;
      let retryMs = retryMin;
      const fire = (detail: string) => {
        if (!closed) hint({ kind: 'nats', detail: `${description}: ${detail}` });
      };
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            wake = undefined;
            resolve();
          }, ms);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });

      const loop = async () => {
        let reopened = false;
        while (!closed) {
          try {
            const opts = revision > 0 ? { key, resumeFromRevision: revision + 1 } : { key };
            current = (await kv.watch(opts)) as unknown as WatchIterator;
            if (closed) {
              current.stop();
              break;
            }
            retryMs = retryMin;
            // Re-opened after a loss: re-read, whatever the resumed watch delivers.
            if (reopened) fire('watch resumed');
            for await (const entry of current) {
              seen(entry);
              fire(entry.operation === 'PUT' ? 'put' : 'delete');
            }
          } catch {
            // The watch could not be opened or broke: retry with backoff below.
          }
          current = undefined;
          if (closed) break;
          reopened = true;
          await pause(retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        }
      };
      void loop();

      // A reconnect may have lost the watch's consumer (a restarted server forgets it): drop the
      // watch so the loop re-opens it from the last revision, and re-read now.
      const statuses = connection?.status() as (AsyncIterable<{ type: string }> & { stop?: () => void }) | undefined;
      if (statuses) {
        void (async () => {
          try {
            for await (const status of statuses) {
              if (closed) break;
              if (status.type === 'reconnect') {
                retryMs = retryMin;
                current?.stop();
                wake?.();
                fire('reconnected');
              }
            }
          } catch {
            // The connection closed: nothing more to watch.
          }
        })();
      }

      return () => {
        if (closed) return;
        closed = true;
        current?.stop();
        wake?.();
        statuses?.stop?.();
      };
    },
  };
}
