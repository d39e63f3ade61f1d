/**
 * The scripted sequence both metrics tests run: a registry with two units, then commits,
 * unchanged and rejected reloads in a known order, so the exact counts are known.
 */
import { createRegistry, reloadable } from '../../src/index.js';
import { fakeSource } from '../../src/testing/index.js';
import type { Lease } from '../../src/types.js';
import { FakeClock } from '../../src/testing/clock.js';

export interface Scenario {
  registry: ReturnType<typeof createRegistry>;
  lease: Lease<unknown>;
  close(): Promise<void>;
}

/** What the scenario produces, per unit. */
export const EXPECTED = {
  config: { committed: 3, unchanged: 2, rejected: 2, attempts: 7, generation: 3, leases: 1, ready: 1 },
  idle: { generation: 0, ready: 0 },
} as const;

/**
 * `attach` runs after the registry has its first member and before anything starts; the second
 * member is added afterwards, so adapters must follow members added later.
 */
export async function runScenario(attach: (registry: ReturnType<typeof createRegistry>) => void): Promise<Scenario> {
  const registry = createRegistry();
  const source = fakeSource({ port: 1 }, { name: 'config.json', hintOnSet: false });
  const config = reloadable({ name: 'config', source, retry: false });
  registry.add(config);
  attach(registry);
  // A unit that is never started: generation 0, not ready.
  registry.add(reloadable({ name: 'idle', load: () => ({}) }));

  await config.start(); // committed (1)
  await config.reload(); // unchanged (1)
  await config.reload(); // unchanged (2)
  source.set({ port: 2 });
  await config.reload(); // committed (2)
  source.failNext(1);
  await config.reload(); // rejected (1): load
  source.set({ port: 3 });
  await config.reload(); // committed (3)
  source.failNext(1);
  await config.reload(); // rejected (2)
  const lease = config.acquire() as Lease<unknown>;
  return {
    registry,
    lease,
    async close() {
      lease.release();
      await registry.close();
    },
  };
}

/**
 * The unit both adapters' rollback tests drive: generation 2 fails its verify check (rolled back
 * within 500 ms of fake time), and disposing a version-1 resource throws, so a drain timeout
 * (1 s) ends in a contained `dispose` error.
 */
export function guardedUnit() {
  const clock = new FakeClock();
  let version = 1;
  const unit = reloadable({
    name: 'guarded',
    clock,
    retry: false,
    load: () => ({ version }),
    create: (cfg) => ({ version: cfg.version }),
    dispose: (r) => {
      if (r.version === 1) throw new Error('dispose failed');
    },
    timeouts: { drain: 1_000 },
    verify: { windowMs: 500, check: (gen) => gen.value.version !== 2 },
  });
  return { unit, clock, setVersion: (v: number) => void (version = v) };
}
