/**
 * The `reloadkit fleet …` and `reloadkit rollout …` commands, as functions the `reloadkit` binary
 * dispatches to: `(argv, io) => Promise<exitCode>` (0 done, 1 rejected / rolled back / aborted /
 * members missing, 2 usage or connection error). etcd is `--etcd <url>` or `ETCDCTL_ENDPOINTS`
 * (default http://127.0.0.1:2379); `--json` prints JSON (the default when stdout is not a TTY).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { Etcd3, type Namespace } from 'etcd3';
import { UsageError as Usage } from '../errors.js';
import { parseSteps } from './cohort.js';
import { fleetCommand, type FleetAction } from './command.js';
import type { RolloutProgress } from './controller.js';
import { parseSelector, type RolloutRecord } from './record.js';
import { controlRollout, readRollout, rollout } from './rollout.js';
import { formatFleetStatus, readFleetStatus } from './status.js';
import { inPlace, renderRolloutView, type ViewSize } from './progress-view.js';

export interface FleetCliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal: progress is redrawn in place and tables are text. */
  isTTY?: boolean;
  /** The terminal's size now (read at every redraw, so a resize is followed). @default 100 × 24 */
  size?: () => ViewSize;
  /** Opens the etcd client (tests pass their own). @default a new Etcd3 on `--etcd` */
  connect?: (url: string) => Namespace & { close?: () => void };
}

export const FLEET_USAGE = `usage:
  reloadkit fleet status <fleet> [--json]
  reloadkit fleet <reload|rollback|pause|resume|invalidate> <unit> --fleet F [--selector k=v,...] [--timeout 10s] [--json]
  reloadkit rollout start --fleet F --unit U --file candidate.json [--steps 1,25%,100%] [--bake 30s]
                          [--selector k=v] [--key /etcd/key] [--max-rejections N] [--error-rate 0.05]
                          [--actor who] [--reason why] [--json]
  reloadkit rollout <status|pause|resume|abort> <id> [--actor who] [--json]
options: --etcd <url> (or ETCDCTL_ENDPOINTS; default http://127.0.0.1:2379)`;


interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parse(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (name === 'json' || name === 'help') flags.set(name, true);
    else if (inline !== undefined) flags.set(name, inline);
    else {
      const value = argv[++i];
      if (value === undefined) throw new Usage(`--${name} needs a value`);
      flags.set(name, value);
    }
  }
  return { positional, flags };
}

/** `30s`, `500ms`, `2m`, or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Usage(`cannot read duration \`${text}\` (expected 500ms, 30s, 2m)`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

const str = (p: Parsed, name: string): string | undefined => {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
};
const need = (p: Parsed, name: string): string => {
  const v = str(p, name);
  if (v === undefined) throw new Usage(`--${name} is required`);
  return v;
};

async function withClient(p: Parsed, io: FleetCliIo, run: (client: Namespace, json: boolean) => Promise<number>): Promise<number> {
  const url = str(p, 'etcd') ?? io.env.ETCDCTL_ENDPOINTS?.split(',')[0] ?? 'http://127.0.0.1:2379';
  const client = io.connect ? io.connect(url) : new Etcd3({ hosts: url, dialTimeout: 3000 });
  try {
    return await run(client, p.flags.get('json') === true || io.isTTY !== true);
  } finally {
    (client as { close?: () => void }).close?.();
  }
}

function run(io: FleetCliIo, body: () => Promise<number>): Promise<number> {
  return body().catch((error: unknown) => {
    if (error instanceof Usage) {
      io.stderr(`reloadkit: ${error.message}\n${FLEET_USAGE}`);
      return 2;
    }
    io.stderr(`reloadkit: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  });
}

const exitOf = (record: RolloutRecord): number => (record.state === 'done' ? 0 : record.state === 'running' || record.state === 'paused' ? 0 : 1);

function summary(record: RolloutRecord): string {
  const entries = Object.entries(record.instances);
  const committed = entries.filter(([, e]) => e.commit).length;
  const rejected = entries.filter(([, e]) => e.verdict === 'rejected' || e.verdict === 'timeout').map(([id, e]) => `${id} (${e.stage ?? '?'} ${e.code ?? ''})`.trim());
  return `rollout ${record.id}: ${record.state}, step ${record.step + 1}/${record.strategy.steps.length} ${record.phase}, ${committed}/${entries.length} committed${rejected.length ? `, rejected: ${rejected.join(', ')}` : ''}${record.cause ? `, cause: ${record.cause}` : ''}`;
}

/**
 * `reloadkit fleet status <fleet>` and `reloadkit fleet <action> <unit> --fleet F --selector k=v`.
 *
 * @example
 * ```ts
 * process.exitCode = await fleetCli(['status', 'api', '--json'], { env: process.env, stdout: console.log, stderr: console.error });
 * ```
 */
export function fleetCli(argv: readonly string[], io: FleetCliIo): Promise<number> {
  return run(io, async () => {
    const p = parse(argv);
    const [sub, target] = p.positional;
    if (p.flags.get('help') || !sub || !target) throw new Usage('expected a subcommand and its argument');
    if (sub === 'status') {
      return withClient(p, io, async (client, json) => {
        const status = await readFleetStatus({ client, fleet: target });
        io.stdout(json ? JSON.stringify(status) : formatFleetStatus(status));
        return 0;
      });
    }
    const actions: FleetAction[] = ['reload', 'rollback', 'pause', 'resume', 'invalidate'];
    if (!actions.includes(sub as FleetAction)) throw new Usage(`unknown fleet subcommand \`${sub}\``);
    return withClient(p, io, async (client, json) => {
      const selector = str(p, 'selector');
      const out = await fleetCommand({
        client, fleet: need(p, 'fleet'), unit: target, action: sub as FleetAction,
        ...(selector ? { selector: parseSelector(selector) } : {}),
        timeoutMs: parseDuration(str(p, 'timeout') ?? '10s'), actor: str(p, 'actor') ?? io.env.USER ?? 'cli',
      });
      if (json) io.stdout(JSON.stringify(out));
      else {
        for (const t of out.targets) {
          const r = out.results[t];
          io.stdout(r ? `${t}  ${r.ok ? 'ok' : 'failed'}  ${r.status ?? ''}  gen ${r.generation ?? '-'}  ${r.code ?? ''}`.trimEnd() : `${t}  no answer`);
        }
      }
      return out.missing.length > 0 || Object.values(out.results).some((r) => !r.ok) ? 1 : 0;
    });
  });
}

/**
 * `reloadkit rollout start …` (runs the controller here until the rollout ends, printing its
 * progress) and `reloadkit rollout status|pause|resume|abort <id>`.
 *
 * @example
 * ```ts
 * await rolloutCli(['start', '--fleet', 'api', '--unit', 'config', '--file', 'c.json', '--steps', '1,25%,100%', '--bake', '30s'], io);
 * ```
 */
export function rolloutCli(argv: readonly string[], io: FleetCliIo): Promise<number> {
  return run(io, async () => {
    const p = parse(argv);
    const [sub, id] = p.positional;
    if (p.flags.get('help') || !sub) throw new Usage('expected a subcommand');
    if (sub === 'start') {
      const file = need(p, 'file');
      let candidate: unknown;
      try {
        candidate = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        throw new Usage(`cannot read --file '${file}' as JSON: ${(error as Error).message}`);
      }
      const steps = parseSteps(str(p, 'steps') ?? '100%', parseDuration(str(p, 'bake') ?? '0'));
      return withClient(p, io, async (client, json) => {
        const selector = str(p, 'selector');
        const maxRejections = str(p, 'max-rejections');
        const errorRate = str(p, 'error-rate');
        const handle = await rollout({
          client, fleet: need(p, 'fleet'), unit: need(p, 'unit'), candidate,
          actor: str(p, 'actor') ?? io.env.USER ?? 'cli', reason: str(p, 'reason') ?? `reloadkit rollout start --file ${file}`,
          ...(selector ? { selector: parseSelector(selector) } : {}),
          ...(str(p, 'key') ? { key: str(p, 'key')! } : {}),
          strategy: {
            steps,
            ...(maxRejections !== undefined ? { maxRejections: Number(maxRejections) } : {}),
            ...(errorRate !== undefined ? { errorRateThreshold: Number(errorRate) } : {}),
          },
        });
        if (json) {
          handle.on('progress', (progress: RolloutProgress) => io.stdout(JSON.stringify(progress)));
          const final = await handle.done;
          io.stdout(JSON.stringify({ id: final.id, state: final.state, cause: final.cause, instances: final.instances }));
          return exitOf(final);
        }
        // On a terminal the view is redrawn in place at every decision, and each second for the
        // phase and bake clocks.
        const view = inPlace(io.stdout);
        const draw = () => view.draw(renderRolloutView(handle.record(), io.size?.()));
        handle.on('progress', draw);
        draw();
        const clock = setInterval(draw, 1000);
        clock.unref();
        const final = await handle.done.finally(() => clearInterval(clock));
        view.draw(renderRolloutView(final, io.size?.()));
        io.stdout(summary(final));
        return exitOf(final);
      });
    }
    if (!id) throw new Usage(`rollout ${sub} needs a rollout id`);
    if (!['status', 'pause', 'resume', 'abort'].includes(sub)) throw new Usage(`unknown rollout subcommand \`${sub}\``);
    return withClient(p, io, async (client, json) => {
      const record = sub === 'status'
        ? await readRollout({ client, id })
        : await controlRollout({ client, id, action: sub as 'pause' | 'resume' | 'abort', actor: str(p, 'actor') ?? io.env.USER ?? 'cli', ...(str(p, 'reason') ? { reason: str(p, 'reason')! } : {}) });
      if (json) io.stdout(JSON.stringify(record));
      else if (sub === 'status') io.stdout(renderRolloutView(record, io.size?.()).join('\n'));
      else io.stdout(summary(record));
      return sub === 'status' ? exitOf(record) : 0;
    });
  });
}
