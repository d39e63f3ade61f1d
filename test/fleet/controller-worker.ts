/**
 * A rollout controller in its own process, for the crash tests: starts a rollout, prints
 * `id <id>` and then one `progress <action> <step>` line per decision, and runs until killed.
 *
 * argv: <etcd url> <fleet> <candidate json> <steps json>
 */
import { rollout, type RolloutStep } from '../../src/fleet/index.js';
import { testEtcdClient } from '../etcd/support.js';

const [url, fleet, candidateJson, stepsJson] = process.argv.slice(2) as [string, string, string, string];
const client = testEtcdClient(url);
const handle = await rollout({
  client, fleet, unit: 'config', candidate: JSON.parse(candidateJson), actor: 'test:controller', reason: 'crash test',
  strategy: { steps: JSON.parse(stepsJson) as RolloutStep[] }, lockTtlS: 3,
});
process.stdout.write(`id ${handle.id}\n`);
handle.on('progress', (p) => process.stdout.write(`progress ${p.decision.action} ${p.decision.step}\n`));
const final = await handle.done;
process.stdout.write(`done ${final.state}\n`);
client.close();
