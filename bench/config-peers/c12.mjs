// c12 3.3 doing the peer tasks (see ../config-peers.ts). c12 has no per-environment file and no
// environment-variable mapping, so the glue loads the production file as a second config over the
// first and maps `APP_*` by hand. It has no schema: there is nothing to validate with.
// Plain JavaScript, run by plain node: no loader hook may slow one library and not another.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const [task, dir] = process.argv.slice(2);
const report = (r) => process.stdout.write(`${JSON.stringify(r)}\n`);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuMs = () => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1000; };
const { loadConfig, watchConfig } = await import('c12');

async function load() {
  // glue:start
  const cwd = join(dir, 'config');
  const base = await loadConfig({ cwd, configFile: 'default', rcFile: false, dotenv: false });
  const env = await loadConfig({ cwd, configFile: process.env.NODE_ENV, rcFile: false, dotenv: false, defaults: base.config });
  const config = env.config;
  for (const [name, raw] of Object.entries(process.env)) {
    if (!name.startsWith('APP_') || raw === undefined) continue;
    const path = name.slice(4).toLowerCase().split('__');
    let node = config;
    for (const key of path.slice(0, -1)) node = node[key] ??= {};
    node[path[path.length - 1]] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return config;
  // glue:end
}

try {
  const value = await load();
  const loadMs = performance.now() - t0;
  const loadCpuMs = cpuMs();
  if (task === 'reload') {
    const watcher = await watchConfig({ cwd: join(dir, 'config'), configFile: 'default', rcFile: false, dotenv: false, debounce: 50 });
    let updates = 0;
    watcher.onUpdate = () => updates++;
    await writeFile(join(dir, 'config', 'default.json'), process.env.RELOADED_DEFAULTS);
    await new Promise((r) => setTimeout(r, 1500));
    const answer = watcher.config.name;
    await watcher.unwatch();
    report({ ok: true, value, loadMs, cpuMs: loadCpuMs, answer });
  } else {
    report({ ok: true, value, loadMs, cpuMs: loadCpuMs, answer: task === 'provenance' ? null : undefined });
  }
} catch (error) {
  report({ ok: false, error: error.message });
}
