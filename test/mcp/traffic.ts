/** Continuous traffic for rollout tests: `workers` loops calling `send` until stopped. */
export interface Traffic {
  ok: number;
  failed: number;
  byVersion: Record<string, number>;
  errors: string[];
  stop(): Promise<void>;
}

export function startTraffic(send: () => Promise<{ version: string }>, workers = 4): Traffic {
  let running = true;
  const t: Traffic = {
    ok: 0,
    failed: 0,
    byVersion: {},
    errors: [],
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await send();
        t.ok++;
        t.byVersion[r.version] = (t.byVersion[r.version] ?? 0) + 1;
      } catch (error) {
        t.failed++;
        if (t.errors.length < 20) t.errors.push((error as Error).message);
        // A dead service fails fast: do not spin.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });
  return t;
}
