// A real unit over a real JSON file (watched), with a real JSONL audit file and an admin server:
// shared by the operator-workflow tests of the HTTP endpoint and the CLI. Its resources are
// counted (created, disposed) so a dry run can be shown to build and dispose exactly one.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { createRegistry, type Registry } from '../../src/compose/registry.js';
import { reloadable } from '../../src/core/unit.js';
import { fileSource } from '../../src/file/index.js';
import { startAdminServer, type AdminServer } from '../../src/http/index.js';
import type { AuditRecord, Reloadable } from '../../src/types.js';
import { AUTH } from './fixtures.js';

/** A value that must never leave the process. */
export const FILE_SECRET = 's3cret-db-password-91';

export const AppSchema = z.object({
  db: z.object({ size: z.number().int().positive(), password: z.string() }),
  greeting: z.string(),
});
export type App = z.infer<typeof AppSchema>;

export const BASE: App = { db: { size: 5, password: FILE_SECRET }, greeting: 'hello' };

export interface FileUnit {
  dir: string;
  file: string;
  auditFile: string;
  unit: Reloadable<App, { size: number }>;
  registry: Registry;
  admin: AdminServer;
  counts: { created: number; disposed: number; committed: number };
  write(value: unknown): Promise<void>;
  /** The audit file's records (what an operator's log shipper sees). */
  auditLines(): Promise<{ text: string; records: AuditRecord[] }>;
  close(): Promise<void>;
}

/**
 * Starts the unit `app` over `app.json` (contents `BASE`), `expose: ['greeting', 'db.size']`.
 * Unwatched unless `watch: true`: a test that writes the file and then reloads must not race the
 * watcher's own reload of the same change.
 */
export async function startFileUnit({ watch = false }: { watch?: boolean } = {}): Promise<FileUnit> {
  const initial = BASE;
  const dir = await mkdtemp(join(tmpdir(), 'reloadkit-ops-'));
  const file = join(dir, 'app.json');
  const auditFile = join(dir, 'audit.jsonl');
  const write = (value: unknown) => writeFile(file, JSON.stringify(value, null, 2));
  await write(initial);
  const counts = { created: 0, disposed: 0, committed: 0 };
  const audit = jsonlAudit(auditFile);
  const registry = createRegistry({ audit });
  const files = fileSource<unknown>(file, { debounceMs: 20 });
  const unit = reloadable({
    name: 'app',
    source: watch ? files : { describe: () => files.describe(), read: (ctx: { signal: AbortSignal }) => files.read(ctx) },
    schema: AppSchema,
    retry: false,
    expose: ['greeting', 'db.size'],
    create: (config: App) => {
      counts.created++;
      return { size: config.db.size };
    },
    dispose: () => {
      counts.disposed++;
    },
  });
  unit.on('committed', () => void counts.committed++);
  registry.add(unit);
  await registry.start();
  const admin = await startAdminServer({ registry, auth: AUTH, port: 0, rateLimit: false });
  return {
    dir,
    file,
    auditFile,
    unit,
    registry,
    admin,
    counts,
    write,
    async auditLines() {
      await audit.flush();
      let text = '';
      try {
        text = await readFile(auditFile, 'utf8');
      } catch {}
      return { text, records: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord) };
    },
    async close() {
      await admin.close();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
