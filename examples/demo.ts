/**
 * `npm run demo`: a scripted tour of one reloadable unit, self-contained (a temp config file, no
 * external service). It commits a config, rejects a broken one and prints why, rolls back, and
 * prints the unit's status table. Exits 0 within seconds.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { reloadable, type UnitStatus } from '../src/index.js';

const Config = z.object({
  service: z.object({ name: z.string(), logLevel: z.enum(['debug', 'info', 'warn', 'error']) }),
  db: z.object({ host: z.string(), port: z.number().int().min(1).max(65_535), password: z.string() }),
});

/** Stands in for a connection pool: something live, built from the config, that must be closed. */
class Pool {
  static opened = 0;
  readonly id = ++Pool.opened;
  closed = false;
  constructor(readonly target: string) {}
  async ping(): Promise<boolean> {
    return !this.closed;
  }
  async end(): Promise<void> {
    this.closed = true;
  }
}

const dir = await mkdtemp(join(tmpdir(), 'reloadkit-demo-'));
const file = join(dir, 'config.json');
const write = (value: unknown): Promise<void> => writeFile(file, JSON.stringify(value, null, 2));
const say = (line: string): void => console.log(line);
/** Lets asynchronous disposals finish, so their events print under the step that caused them. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

try {
  await write({ service: { name: 'checkout', logLevel: 'info' }, db: { host: 'db-1.internal', port: 5432, password: 'demo-secret' } });

  const config = reloadable({
    name: 'config',
    source: { describe: () => `file ${file}`, read: async () => JSON.parse(await readFile(file, 'utf8')) as unknown },
    schema: Config,
    validate: (cfg) => {
      if (cfg.service.logLevel === 'debug' && cfg.db.host.includes('prod')) throw new Error('debug logging is not allowed against a production database');
    },
    create: (cfg) => new Pool(`${cfg.db.host}:${cfg.db.port}`),
    healthCheck: (pool) => pool.ping(),
    dispose: (pool) => pool.end(),
    retry: false,
  });
  config.on('committed', ({ current, changedPaths }) => say(`  event committed: generation ${current.id}, changed [${changedPaths.join(', ')}]`));
  config.on('rejected', ({ stage, error }) => say(`  event rejected at ${stage}: ${error.message}`));
  config.on('rolled-back', ({ from, to, target }) => say(`  event rolled-back: ${from} -> ${to} (the state of generation ${target})`));
  config.on('disposed', ({ generation }) => say(`  event disposed: the pool of generation ${generation.id}`));

  say('1. start(): load, validate, create the pool, health check, commit');
  await config.start();
  say(`   live: pool #${config.get().id} -> ${config.get().target}\n`);

  say('2. a good change: the port moves; a new pool is built, checked, swapped in atomically');
  await write({ service: { name: 'checkout', logLevel: 'info' }, db: { host: 'db-1.internal', port: 6432, password: 'demo-secret' } });
  const good = await config.reload({ reason: 'move to pgbouncer', actor: 'demo' });
  await settle();
  say(`   result: ${good.status}, live generation ${good.generation}, pool #${config.get().id} -> ${config.get().target}\n`);

  say('3. a broken change: the port is a string; it is rejected and the live pool is untouched');
  await write({ service: { name: 'checkout', logLevel: 'info' }, db: { host: 'db-1.internal', port: '6432', password: 'demo-secret' } });
  const broken = await config.reload({ reason: 'typo', actor: 'demo' });
  say(`   result: ${broken.status} at stage "${broken.stage}"`);
  say(`   why: ${broken.error?.message}`);
  say(`   still live: generation ${config.current?.id}, pool #${config.get().id}\n`);

  say('4. the same file again: its hash equals the live one, so nothing is rebuilt');
  await write({ service: { name: 'checkout', logLevel: 'info' }, db: { host: 'db-1.internal', port: 6432, password: 'demo-secret' } });
  const same = await config.reload();
  say(`   result: ${same.status} (pools opened so far: ${Pool.opened})\n`);

  say('5. roll back to the first configuration');
  const back = await config.rollback({ reason: 'pgbouncer misbehaves', actor: 'demo' });
  await settle();
  say(`   result: ${back.status}, live generation ${back.generation}, pool #${config.get().id} -> ${config.get().target}\n`);

  say('6. status (JSON-safe: hashes only, the password appears nowhere)');
  printTable([config.status()]);
  say('\n   history:');
  for (const g of config.history()) say(`   - generation ${g.id}  ${g.hash.slice(0, 19)}…  trigger ${g.trigger.kind}`);
  if (JSON.stringify(config.status()).includes('demo-secret')) throw new Error('secret leaked into status');

  await config.close();
  say(`\nclosed: every pool disposed (${Pool.opened} opened).`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function printTable(units: UnitStatus[]): void {
  const rows = units.map((s) => [
    s.name,
    s.state,
    String(s.generation),
    s.hash ? `${s.hash.slice(0, 19)}…` : '-',
    s.lastAttempt ? s.lastAttempt.outcome : '-',
    String(s.leases),
    String(s.draining),
  ]);
  const header = ['UNIT', 'STATE', 'GEN', 'HASH', 'LAST', 'LEASES', 'DRAINING'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `   ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  say(line(header));
  for (const row of rows) say(line(row));
}
