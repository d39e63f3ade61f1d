/**
 * A throwaway single-member etcd for the demo (loopback, random ports, temporary data dir), used
 * when `ETCD_URL` is not set. Requires the `etcd` binary (Debian package `etcd-server`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startLocalEtcd(): Promise<{ url: string; stop(): Promise<void> }> {
  const [port, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'etcd-fleet-demo-'));
  const url = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn('etcd', [
    '--name', 'demo', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `demo=${peerUrl}`, '--logger', 'zap', '--log-level', 'error',
  ], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => console.error(`could not start etcd: ${error.message} (install etcd-server or set ETCD_URL)`));
  for (let i = 0; ; i++) {
    try {
      const health = (await (await fetch(`${url}/health`)).json()) as { health?: string };
      if (health.health === 'true') break;
    } catch {
      // not up yet
    }
    if (i > 200 || child.exitCode !== null) throw new Error('etcd did not start (install etcd-server or set ETCD_URL)');
    await sleep(50);
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
