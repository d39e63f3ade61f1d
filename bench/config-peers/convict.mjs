// convict 6 doing the peer tasks (see ../config-peers.ts): a schema with an `env` name per key,
// `loadFile` for the two files, `validate({ allowed: 'strict' })`. It has no reload.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [task, dir] = process.argv.slice(2);
const report = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuMs = () => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1000; };
const convict = createRequire(import.meta.url)('convict');

// schema:start
const schema = {
  name: { format: String, default: 'app' },
  db: {
    host: { format: String, default: 'localhost', env: 'APP_DB__HOST' },
    port: { format: 'port', default: 5432, env: 'APP_DB__PORT' },
    ssl: { format: Boolean, default: false, env: 'APP_DB__SSL' },
    password: { format: String, default: '', env: 'APP_DB__PASSWORD', sensitive: true },
    url: { format: String, default: '' },
  },
};
// schema:end

function load() {
  // glue:start
  const config = convict(schema);
  config.loadFile([join(dir, 'config', 'default.json'), join(dir, 'config', `${process.env.NODE_ENV}.json`)]);
  config.validate({ allowed: 'strict' });
  return config.getProperties();
  // glue:end
}

try {
  const value = load();
  report({ ok: true, value, loadMs: performance.now() - t0, cpuMs: cpuMs(), answer: task === 'provenance' ? null : undefined });
} catch (error) {
  report({ ok: false, error: error.message });
}
