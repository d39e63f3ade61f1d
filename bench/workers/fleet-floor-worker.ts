/**
 * One process of bench/fleet-floor.ts: `members` bare "members" on one bare etcd3 watch, doing the
 * least a member of each message pattern can do (no reloadkit, no schema, no resource), so the
 * parent measures the floor that etcd and the processes themselves set for that pattern.
 *
 * Keys under <root>: `ctl/plain` {seq} (a plain put), `ctl/prepare/<seq>` (a prepare request),
 * `ctl/commit/<seq>` (a commit decision), `verdicts/<seq>/<member>` (a verdict).
 *
 * - on `ctl/plain`: every member commits (`c` line);
 * - on `ctl/prepare/<seq>`: one transaction writes every member's verdict, guarded by the prepare
 *   key's mod revision (as reloadkit's verdicts are guarded by the rollout record);
 * - mode `decision` (the controller decides): on `ctl/commit/<seq>` every member commits;
 * - mode `verdicts` (members decide): the watch also covers `verdicts/`, and every member commits
 *   once it has seen `fleet` verdicts for seq.
 *
 * Prints `ready` once watching, then `c <member> <seq> <epoch ms>` per commit.
 * argv: <etcd url> <root> <process index> <members> <decision|verdicts> <fleet size>
 */
import { Etcd3 } from 'etcd3';

const [url, root, index, count, mode, fleetSize] = process.argv.slice(2) as [string, string, string, string, 'decision' | 'verdicts', string];
const client = new Etcd3({ hosts: url });
const ids = Array.from({ length: Number(count) }, (_, m) => `p${index}m${m}`);
const fleet = Number(fleetSize);
const verdictsSeen = new Map<number, number>();

const commitAll = (seq: number) => {
  const at = performance.timeOrigin + performance.now();
  process.stdout.write(ids.map((id) => `c ${id} ${seq} ${at}\n`).join(''));
};

const watcher = await client.watch().prefix(mode === 'verdicts' ? root : `${root}ctl/`).create();
watcher.on('put', (kv) => {
  const key = kv.key.toString().slice(root.length);
  const [area, kind, seqText] = key.split('/');
  if (area === 'ctl' && kind === 'plain') {
    commitAll((JSON.parse(kv.value.toString()) as { seq: number }).seq);
  } else if (area === 'ctl' && kind === 'prepare') {
    const prepareKey = kv.key.toString();
    const puts = ids.map((id) => client.put(`${root}verdicts/${seqText}/${id}`).value('{"verdict":"prepared"}'));
    void client.if(prepareKey, 'Mod', '==', kv.mod_revision).then(...puts).commit().catch((error: unknown) => process.stderr.write(`fleet-floor-worker: verdict write failed: ${String(error)}\n`));
  } else if (area === 'ctl' && kind === 'commit') {
    commitAll(Number(seqText));
  } else if (area === 'verdicts') {
    const seq = Number(kind);
    const seen = (verdictsSeen.get(seq) ?? 0) + 1;
    verdictsSeen.set(seq, seen);
    if (seen === fleet) {
      verdictsSeen.delete(seq);
      commitAll(seq);
    }
  }
});
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void watcher.cancel().finally(() => {
    client.close();
    process.exit(0);
  });
});
