/**
 * `redisSource`: a unit's candidate read from one Redis key (a string with GET or a hash with
 * HGETALL), with hints from keyspace notifications or from a pub/sub channel.
 *
 * Hints need a subscriber connection (a connection in subscriber mode can run nothing else), so
 * `watch` opens a `duplicate()` of the client. Redis does not queue notifications for a
 * disconnected subscriber: every time that connection is ready again (after its channel is
 * subscribed again), the source hints a fresh read, so a change made while it was away is
 * never lost.
 *
 * Keyspace notifications are off in a stock Redis (`notify-keyspace-events ""`). See
 * docs/operations.md: set `notify-keyspace-events K$hg` (or `KA`), or pass `keyspaceEvents:
 * 'enable'` to let the source add the flags it needs, or publish to a `channel` yourself.
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { abortable } from '../support/abortable.js';
import { expectNonEmptyString, expectObject, expectOptionalFunction } from '../support/check-option.js';
import { LoadError } from '../errors.js';
import { rejectUnknownKeys } from '../support/known-keys.js';
import { parseStoreValue, readStoreValue } from '../support/store-value.js';
import type { Hint, Source } from '../types.js';

/** Options of {@link redisSource}. */
export interface RedisSourceOptions {
  /** `'string'` (GET, the default) or `'hash'` (HGETALL, an object of fields). */
  type?: 'string' | 'hash';
  /**
   * Hints from this pub/sub channel (publish to it after each write) instead of keyspace
   * notifications.
   */
  channel?: string;
  /**
   * Turns the stored value into the raw candidate. A string key receives its text (default:
   * `JSON.parse`); a hash receives its fields as a `Record<string, string>` (default: as is).
   */
  parse?: (raw: string | Record<string, string>) => unknown;
  /**
   * Without `channel`, hints come from keyspace notifications, which must be enabled:
   * - `'require'` (default): the first read checks `notify-keyspace-events` and fails with a
   *   clear `LoadError` when the needed flags (`K` and `$` for strings / `h` for hashes, or
   *   `A`) are missing, so `start()` fails instead of silently never reloading.
   * - `'enable'`: the source adds the missing flags with `CONFIG SET` (and again after every
   *   reconnect, since a restarted server forgets them).
   * Servers that forbid `CONFIG` (managed Redis) skip the check: enable the flags in their
   * parameter group.
   */
  keyspaceEvents?: 'require' | 'enable';
}

/** The options {@link redisSource} accepts. */
const KNOWN_KEYS: readonly string[] = ['type', 'channel', 'parse', 'keyspaceEvents'];

function checkOptions(client: unknown, key: unknown, options: unknown): void {
  if (typeof client !== 'object' || client === null || typeof (client as Redis).duplicate !== 'function' || typeof (client as Redis).get !== 'function') {
    throw new TypeError('redisSource: expected an ioredis client as the first argument');
  }
  expectNonEmptyString('redisSource', 'key', key);
  expectObject('redisSource', 'options', options);
  rejectUnknownKeys('redisSource', options as object, KNOWN_KEYS);
  const { type, channel, parse, keyspaceEvents } = options as RedisSourceOptions;
  if (type !== undefined && type !== 'string' && type !== 'hash') {
    throw new TypeError(`redisSource: expected \`type\` to be 'string' or 'hash', got \`${String(type)}\``);
  }
  if (channel !== undefined && (typeof channel !== 'string' || channel.length === 0)) {
    throw new TypeError('redisSource: expected `channel` to be a non-empty string');
  }
  expectOptionalFunction('redisSource', 'parse', parse);
  if (keyspaceEvents !== undefined && keyspaceEvents !== 'require' && keyspaceEvents !== 'enable') {
    throw new TypeError(`redisSource: expected \`keyspaceEvents\` to be 'require' or 'enable', got \`${String(keyspaceEvents)}\``);
  }
}

/**
 * True when Redis itself answered CONFIG with an error (ioredis `ReplyError`: unknown or renamed
 * command, NOPERM), as opposed to a connection that failed before any answer.
 */
function isServerRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** The flags a source of this type needs, and whether `flags` has them. */
export function missingKeyspaceFlags(flags: string, type: 'string' | 'hash'): string {
  let missing = '';
  if (!flags.includes('K')) missing += 'K';
  const classFlag = type === 'string' ? '$' : 'h';
  if (!flags.includes('A') && !flags.includes(classFlag)) missing += classFlag;
  // DEL and EXPIRE are generic/expired events: nice to have, not required.
  return missing;
}

/**
 * A `Source` reading one Redis key (GET, or HGETALL with `type: 'hash'`), with hints from keyspace
 * notifications (default) or a pub/sub `channel`, and a fresh read after every reconnect.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { reloadable } from 'reloadkit';
 * import { redisSource } from 'reloadkit/redis';
 *
 * const client = new Redis('redis://127.0.0.1:6379');
 * const flags = reloadable({ name: 'flags', source: redisSource(client, 'app:flags', { type: 'hash' }) });
 * await flags.start();
 * ```
 */
export function redisSource(client: Redis, key: string, options: RedisSourceOptions = {}): Source<unknown> {
  checkOptions(client, key, options);
  const type = options.type ?? 'string';
  const mode = options.keyspaceEvents ?? 'require';
  const useKeyspace = options.channel === undefined;
  const description = `redis ${type === 'hash' ? 'hash' : 'key'} ${key}`;
  const parse =
    options.parse ?? (type === 'string' ? (raw: string | Record<string, string>) => JSON.parse(raw as string) as unknown : (raw: string | Record<string, string>) => raw);
  let watchers = 0;
  /** Cached check of `notify-keyspace-events` (reset after each reconnect). */
  let keyspaceCheck: Promise<void> | undefined;

  const checkKeyspace = async (): Promise<void> => {
    let flags: string;
    try {
      const reply = (await client.config('GET', 'notify-keyspace-events')) as unknown as string[];
      flags = reply[1] ?? '';
    } catch (error) {
      // The server refused CONFIG (managed Redis: unknown or renamed command, no permission):
      // trust the operator's parameter group. Any other failure (the connection is down, as it
      // is for a moment after a restart) says nothing about the flags: fail, and check again.
      if (isServerRefusal(error)) return;
      throw error;
    }
    const missing = missingKeyspaceFlags(flags, type);
    if (missing === '') return;
    if (mode === 'enable') {
      try {
        await client.config('SET', 'notify-keyspace-events', `${flags}${missing}`);
        return;
      } catch (error) {
        if (!isServerRefusal(error)) throw error; // the connection failed: try again
        // Redis answered no (CONFIG SET renamed or forbidden): asking again cannot help.
        throw new LoadError(
          `keyspace notifications are off for ${description} and the server refused CONFIG SET notify-keyspace-events ` +
            `(enable "K${type === 'string' ? '$' : 'h'}g" in the server's configuration, or use a channel)`,
          { source: description, cause: error, permanent: true },
        );
      }
    }
    // Retrying cannot turn the flags on: fail at once with what to do.
    throw new LoadError(
      `keyspace notifications are off for ${description}: notify-keyspace-events is "${flags}", it needs "${missing}" ` +
        `(run CONFIG SET notify-keyspace-events K${type === 'string' ? '$' : 'h'}g, pass keyspaceEvents: 'enable', or use a channel)`,
      { source: description, permanent: true },
    );
  };

  const ensureKeyspace = (): Promise<void> => {
    if (!useKeyspace || watchers === 0) return Promise.resolve();
    keyspaceCheck ??= checkKeyspace().catch((error: unknown) => {
      keyspaceCheck = undefined; // check again next time
      throw error;
    });
    return keyspaceCheck;
  };

  return {
    describe: () => description,
    async read({ signal }) {
      await abortable(ensureKeyspace(), signal, description);
      const raw = await readStoreValue<string | Record<string, string> | null>(
        () => (type === 'string' ? client.get(key) : client.hgetall(key)),
        signal,
        description,
      );
      // Redis removes a hash with its last field: an empty HGETALL is a missing key.
      if (raw === null || (typeof raw === 'object' && Object.keys(raw).length === 0)) {
        throw new LoadError(`${description} does not exist`, { source: description });
      }
      return parseStoreValue(() => parse(raw), description, description);
    },
    watch(hint: (h: Hint) => void) {
      const db = client.options.db ?? 0;
      const channel = options.channel ?? `__keyspace@${db}__:${key}`;
      const subscriber = client.duplicate();
      let closed = false;
      watchers += 1;
      const fire = (detail: string) => {
        if (!closed) hint({ kind: 'redis', detail: `${description}: ${detail}` });
      };
      subscriber.on('message', (received: string, message: string) => {
        // A keyspace message is the command name (`set`, `hset`, `del`...), never the value.
        if (received === channel) fire(useKeyspace ? message : 'published');
      });
      let connections = 0;
      /**
       * Every time the subscriber connection is ready, the first time included: `start()` returns
       * once the main client has read, while this connection may still be on its way, so its first
       * ready can already be on a restarted server that forgot a CONFIG SET. Each time: check the
       * flags again (and enable them), make sure the channel is subscribed, then hint a re-read
       * (notifications sent while it was away are lost; Redis queues none).
       */
      subscriber.on('ready', () => {
        keyspaceCheck = undefined;
        const round = ++connections;
        void repair(round === 1 ? 'subscribed' : 'reconnected', () => closed || round !== connections);
      });
      /**
       * The repair must not depend on the unit's re-read succeeding: with notifications off
       * nothing would ever hint again. So the flags are checked (and enabled) here, retried with
       * backoff until they are (the main connection may still be reconnecting), before the
       * re-read is hinted; and the channel is subscribed before that, so no change slips by. A
       * permanent failure (flags off and not ours to enable) is not retried: the re-read hinted
       * reports it.
       */
      const repair = async (detail: string, superseded: () => boolean) => {
        for (let attempt = 0; !superseded(); attempt++) {
          try {
            await ensureKeyspace().catch((error: unknown) => {
              if (!(error instanceof LoadError && error.permanent)) throw error;
            });
            await subscriber.subscribe(channel);
            if (!superseded()) fire(detail);
            return;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)));
          }
        }
      };
      // ioredis prints unhandled connection errors; the reconnect logic handles them.
      subscriber.on('error', () => undefined);
      return async () => {
        if (closed) return;
        closed = true;
        watchers -= 1;
        subscriber.disconnect();
      };
    },
  };
}
