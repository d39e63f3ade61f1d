// reloadkit doing the peer tasks (see ../config-peers.ts): one unit over `configSource`, with the
// unit's schema also deciding coercion. Imports the built package (`npm run build`); `--src`
// imports the sources instead (under `node --import tsx`, as the tests run it). The schema is
// zod's; `--valibot` writes the same schema with valibot (any Standard Schema will do), whose
// import is several times cheaper, to show what the schema library costs at startup.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const [task, dir] = process.argv.slice(2);
const report = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);
const base = process.argv.includes('--src') ? '../../src' : '../../dist';
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuMs = () => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1000; };
const { reloadable } = await import(`${base}/index.js`);
const { configSource, explain } = await import(`${base}/config/index.js`);
const Config = process.argv.includes('--valibot') ? await valibotSchema() : await zodSchema();

async function zodSchema() {
  const { z } = await import('zod');
  // schema:start
  return z.object({
    name: z.string(),
    db: z.object({ host: z.string(), port: z.number().int().min(0).max(65535), ssl: z.boolean(), password: z.string(), url: z.string() }),
  });
  // schema:end
}

async function valibotSchema() {
  const v = await import('valibot');
  const port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
  return v.object({ name: v.string(), db: v.object({ host: v.string(), port, ssl: v.boolean(), password: v.string(), url: v.string() }) });
}

async function load() {
  // glue:start
  const files = [join(dir, 'config', 'default.json'), join(dir, 'config', '${NODE_ENV}.json')];
  const source = configSource({ files, env: { prefix: 'APP_' }, secrets: true, schema: Config, watch: { debounceMs: 50 } });
  const unit = reloadable({ name: 'config', source, schema: Config, retry: false });
  await unit.start();
  // glue:end
  return unit;
}

let unit;
try {
  unit = await load();
  const loadMs = performance.now() - t0;
  const loadCpuMs = cpuMs();
  const value = unit.get();
  if (task === 'reload') {
    const committed = new Promise((r) => unit.once('committed', r));
    await writeFile(join(dir, 'config', 'default.json'), process.env.RELOADED_DEFAULTS);
    await Promise.race([committed, new Promise((r) => setTimeout(r, 5000))]);
    report({ ok: true, value, loadMs, cpuMs: loadCpuMs, answer: unit.get().name });
  } else {
    report({ ok: true, value, loadMs, cpuMs: loadCpuMs, answer: task === 'provenance' ? (explain(unit, 'db.port') ?? null) : undefined });
  }
} catch (error) {
  report({ ok: false, error: error.message });
} finally {
  await unit?.close();
}
