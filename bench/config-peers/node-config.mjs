// node-config 5 doing the peer tasks (see ../config-peers.ts): `config/default.json` and
// `config/<NODE_ENV>.json` are its own convention; `custom-environment-variables.json` maps the
// environment (`__format: json` to get a number). It has no schema and no reload.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [task, dir] = process.argv.slice(2);
const report = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);

let warned = false;
const restore = { warn: console.warn, error: console.error };
console.warn = console.error = () => void (warned = true);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuMs = () => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1000; };
try {
  // glue:start
  const mapping = { db: { port: { __name: 'APP_DB__PORT', __format: 'json' }, ssl: { __name: 'APP_DB__SSL', __format: 'json' } } };
  await writeFile(join(dir, 'config', 'custom-environment-variables.json'), JSON.stringify(mapping));
  process.env.NODE_CONFIG_DIR = join(dir, 'config');
  const config = createRequire(import.meta.url)('config');
  // glue:end
  const value = config.util.toObject();
  const loadMs = performance.now() - t0;
  const loadCpuMs = cpuMs();
  Object.assign(console, restore);
  // getConfigSources() lists files, not keys: no answer to "which layer set db.port".
  report({ ok: true, value, loadMs, cpuMs: loadCpuMs, answer: task === 'provenance' ? null : undefined, warned });
} catch (error) {
  Object.assign(console, restore);
  report({ ok: false, error: error.message, warned });
}
