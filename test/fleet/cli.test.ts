/**
 * The fleet and rollout commands (src/fleet/cli.ts) against a real etcd, with real units in this
 * process as two fleet instances (two units of one instance and two instances share one watch):
 * status table and JSON, a rollout started from a file to the end, its status by id, a selected
 * reload, usage errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdSource } from '../../src/etcd/index.js';
import { ctlWatchCount, fleetKeys, fleetMember } from '../../src/fleet/index.js';
import { fleetCli, rolloutCli, parseDuration, type FleetCliIo } from '../../src/fleet/cli.js';
import { reloadable } from '../../src/index.js';
import { haveBinary } from '../helpers/servers.js';
import { useEtcd } from '../etcd/support.js';

const available = haveBinary('etcd');

function io(client: FleetCliIo['connect'] extends infer C ? C : never) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: FleetCliIo = { env: {}, stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), connect: client, isTTY: false };
  return { out, err, io: cli };
}

describe('fleet CLI commands', { skip: available ? false : 'etcd not installed' }, () => {
  const env = useEtcd();

  it('status, rollout start to done, rollout status, a selected reload; usage errors exit 2', async () => {
    const fleet = 'cli';
    const client = env.client;
    await client.put(fleetKeys(fleet).canonical('config')).value(JSON.stringify({ n: 1 }));
    const units = ['a', 'b'].map(() => reloadable({ name: 'config', source: etcdSource(client, { key: fleetKeys(fleet).canonical('config') }), retry: false }));
    const extra = reloadable({ name: 'flags', load: () => ({ on: true }), retry: false });
    await Promise.all([...units, extra].map((u) => u.start()));
    const members = [
      fleetMember(units[0]!, { client, fleet, instance: 'cli-a', labels: { zone: 'a' } }),
      fleetMember(units[1]!, { client, fleet, instance: 'cli-b', labels: { zone: 'b' } }),
      fleetMember(extra, { client, fleet, instance: 'cli-a', labels: { zone: 'a' } }),
    ];
    try {
      await Promise.all(members.map((m) => m.ready));
      assert.equal(ctlWatchCount(client, fleet), 1, 'three members, two instances, one watch');
      // The CLI's own client must not be closed under the test: hand it a proxy without close.
      const connect = () => new Proxy(client, { get: (t, k) => (k === 'close' ? undefined : Reflect.get(t, k)) });

      const status = io(connect);
      assert.equal(await fleetCli(['status', fleet, '--json'], status.io), 0);
      const table = JSON.parse(status.out[0]!) as { rows: Array<{ instance: string; unit: string; labels: Record<string, string> }> };
      assert.deepEqual(table.rows.map((r) => `${r.unit}@${r.instance}:${r.labels.zone}`).sort(), ['config@cli-a:a', 'config@cli-b:b', 'flags@cli-a:a']);

      const dir = mkdtempSync(join(tmpdir(), 'reloadkit-cli-'));
      writeFileSync(join(dir, 'candidate.json'), JSON.stringify({ n: 2 }));
      const start = io(connect);
      const code = await rolloutCli(['start', '--fleet', fleet, '--unit', 'config', '--file', join(dir, 'candidate.json'), '--steps', '1,100%', '--bake', '0s', '--actor', 'test', '--json'], start.io);
      assert.equal(code, 0, start.err.join('\n'));
      const final = JSON.parse(start.out.at(-1)!) as { id: string; state: string };
      assert.equal(final.state, 'done');
      assert.ok(start.out.slice(0, -1).some((l) => (JSON.parse(l) as { decision: { action: string } }).decision.action === 'commit'), 'progress lines');
      assert.deepEqual(units.map((u) => u.current?.value), [{ n: 2 }, { n: 2 }]);

      const shown = io(connect);
      shown.io.isTTY = true; // a terminal: the view
      assert.equal(await rolloutCli(['status', final.id], shown.io), 0);
      const view = shown.out[0]!.split('\n');
      assert.equal(view[0], `rollout ${final.id}  ${fleet}/config  done  candidate ${units[0]!.current!.hash.replace(/^sha256:/, '').slice(0, 12)}`);
      assert.equal(view[1], 'steps   ✔ 1   ✔ 100%');
      assert.deepEqual(view.filter((l) => l.startsWith('cli-')).map((l) => l.split(/\s+/).slice(0, 4).join(' ')).sort(), ['cli-a 1 committed yes', 'cli-b 2 committed yes']);

      // On a terminal, `rollout start` redraws its view in place: each redraw moves back over
      // exactly the lines drawn before it; the last line is the one-line summary.
      writeFileSync(join(dir, 'candidate3.json'), JSON.stringify({ n: 3 }));
      const live = io(connect);
      live.io.isTTY = true;
      live.io.size = () => ({ columns: 120, rows: 30 });
      assert.equal(await rolloutCli(['start', '--fleet', fleet, '--unit', 'config', '--file', join(dir, 'candidate3.json'), '--steps', '1,100%', '--actor', 'test'], live.io), 0, live.err.join('\n'));
      const draws = live.out.slice(0, -1);
      assert.ok(draws.length >= 3, `a first draw and redraws (${draws.length} writes)`);
      assert.ok(!draws[0]!.startsWith('\u001b'), 'the first draw moves nothing');
      for (let i = 1; i < draws.length; i++) {
        const height = draws[i - 1]!.split('\n').length;
        assert.ok(draws[i]!.startsWith(`\u001b[${height}A\r\u001b[0J`), `redraw ${i} moves back ${height} lines`);
      }
      const last = draws.at(-1)!.slice(draws.at(-1)!.indexOf('rollout ')).split('\n');
      assert.match(last[0]!, new RegExp(`^rollout \\S+  ${fleet}/config  done`));
      assert.equal(last[1], 'steps   ✔ 1   ✔ 100%');
      assert.match(live.out.at(-1)!, /: done, step 2\/2/);
      assert.deepEqual(units.map((u) => u.current?.value), [{ n: 3 }, { n: 3 }]);

      const reload = io(connect);
      assert.equal(await fleetCli(['reload', 'config', '--fleet', fleet, '--selector', 'zone=b', '--json'], reload.io), 0);
      assert.deepEqual((JSON.parse(reload.out[0]!) as { targets: string[] }).targets, ['cli-b']);

      const bad = io(connect);
      assert.equal(await rolloutCli(['start', '--fleet', fleet], bad.io), 2);
      assert.match(bad.err[0]!, /--file is required/);
      assert.equal(await fleetCli(['explode', 'x'], bad.io), 2);
      assert.equal(parseDuration('30s'), 30_000);
      assert.throws(() => parseDuration('soon'), /cannot read duration/);
    } finally {
      await Promise.all(members.map((m) => m.close()));
      await Promise.all([...units, extra].map((u) => u.close()));
    }
    assert.equal(ctlWatchCount(client, fleet), 0, 'the last member closed the watch');
  });
});
