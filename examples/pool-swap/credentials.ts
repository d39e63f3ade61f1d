/**
 * Redis ACL users for credential rotation. An admin connection creates `count` application users
 * (each with its own random password and only the commands the service needs), then switches the
 * passwordless `default` user off, so every pool must authenticate with the credentials it was
 * given: a pool built with the wrong ones fails its create stage instead of serving.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** One set of credentials a pool can log in with. */
export interface Credentials {
  username: string;
  password: string;
}

/** What the service reloads: who to log in as and how many connections to open. */
export interface PoolSettings extends Credentials {
  size: number;
}

/** The key prefix application users may touch. */
export const KEY_PREFIX = 'ps:';

/** Result of {@link provisionUsers}: the users, and an admin connection (close it when done). */
export interface ProvisionedRedis {
  users: Credentials[];
  admin: Redis;
}

/**
 * Creates an `admin` user and `count` application users `pool-user-<i>`, switches the default
 * user off, and returns the credentials plus the admin connection (authenticated as `admin`).
 *
 * @example
 * ```ts
 * const { users, admin } = await provisionUsers({ host: '127.0.0.1', port }, 4);
 * // users[0] -> { username: 'pool-user-0', password: '...' }
 * await admin.quit();
 * ```
 */
export async function provisionUsers(server: { host: string; port: number }, count: number): Promise<ProvisionedRedis> {
  if (!Number.isInteger(count) || count < 1) {
    throw new TypeError(`Expected \`count\` to be a positive integer, got ${count}`);
  }
  const admin = new Redis({ host: server.host, port: server.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  admin.on('error', () => {}); // surfaced by the rejected commands instead
  await admin.connect();
  const adminPassword = randomPassword();
  await admin.call('ACL', 'SETUSER', 'admin', 'on', `>${adminPassword}`, '~*', '&*', '+@all');
  await admin.call('AUTH', 'admin', adminPassword);
  const users: Credentials[] = [];
  for (let i = 0; i < count; i++) {
    const user = { username: `pool-user-${i}`, password: randomPassword() };
    // Least privilege: only the keys and commands the handlers and the health check use.
    await admin.call('ACL', 'SETUSER', user.username, 'reset', 'on', `>${user.password}`, `~${KEY_PREFIX}*`, '+@connection', '+incr', '+get');
    users.push(user);
  }
  await admin.call('ACL', 'SETUSER', 'default', 'off');
  return { users, admin };
}

/**
 * An endless rotation over users and pool sizes: each call returns the next user and the next
 * size. The two cycles have coprime lengths, so consecutive settings always differ (the unit's
 * dedupe never turns a rotation into "unchanged") and every size meets every user.
 *
 * @example
 * ```ts
 * const next = rotation(users, [2, 3, 4]);
 * next(); // { username: 'pool-user-0', password, size: 2 }
 * next(); // { username: 'pool-user-1', password, size: 3 }
 * ```
 */
export function rotation(users: readonly Credentials[], sizes: readonly number[]): () => PoolSettings {
  if (users.length < 2) throw new TypeError(`Expected at least 2 users to rotate between, got ${users.length}`);
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new TypeError(`Expected \`sizes\` to be a non-empty array of positive integers, got ${JSON.stringify(sizes)}`);
  }
  let turn = 0;
  return () => {
    const user = users[turn % users.length]!;
    const size = sizes[turn % sizes.length]!;
    turn++;
    return { username: user.username, password: user.password, size };
  };
}

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}
