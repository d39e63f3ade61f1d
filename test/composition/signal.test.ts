import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { waitFor } from '../helpers/wait.js';

const here = dirname(fileURLToPath(import.meta.url));

test('signalTrigger in a real child process: kill -HUP reloads and commits; stop() removes the listener', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rk-signal-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ version: 1 }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'signal-child.ts'), path], {
    cwd: join(here, '..', '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const messages: Record<string, any>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => messages.push(JSON.parse(line)));
  const find = (event: string, extra: (m: Record<string, any>) => boolean = () => true) => messages.find((m) => m.event === event && extra(m));

  const ready = await waitFor(() => find('ready'), { timeoutMs: 30_000, message: `child ready (stderr: ${stderr})` });
  assert.equal(ready.listeners, 1, 'the started trigger holds exactly one SIGHUP listener');
  assert.deepEqual(find('committed'), { event: 'committed', generation: 1, version: 1, trigger: { kind: 'start' } });

  await writeFile(path, JSON.stringify({ version: 2 }));
  process.kill(child.pid!, 'SIGHUP');
  const second = await waitFor(() => find('committed', (m) => m.generation === 2), { message: 'commit after SIGHUP' });
  assert.equal(second.version, 2);
  assert.deepEqual(second.trigger, { kind: 'signal', detail: 'SIGHUP' });

  child.stdin.write('stop\n');
  const stopped = await waitFor(() => find('stopped'), { message: 'trigger stopped' });
  assert.equal(stopped.listeners, 0, 'stop() removed the listener');

  child.stdin.write('exit\n');
  assert.equal(await exited, 0, `child exits on its own (stderr: ${stderr})`);
  assert.equal(find('closed')?.listeners, 0);
  assert.equal(messages.filter((m) => m.event === 'committed').length, 2);
});
