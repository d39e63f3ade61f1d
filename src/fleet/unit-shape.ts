/**
 * What reloadkit/fleet needs of a unit: a `reloadable()` unit fits (prepare, rollback, pause,
 * resume come from the operator workflow). Structural, so a second copy of reloadkit fits too.
 *
 * @module
 */

export interface FleetResult {
  status: string;
  ok: boolean;
  hash?: string;
  generation?: number;
  stage?: string;
  error?: { code?: string };
}

export interface FleetPrepared {
  readonly result: FleetResult;
  readonly hash: string | undefined;
  commit(opts?: { reason?: string; actor?: string }): Promise<FleetResult>;
  discard(): Promise<void>;
}

export interface FleetUnit {
  readonly name: string;
  status(): { name: string; state: string; generation: number; hash: string | null; [extra: string]: unknown };
  on(event: string, fn: (...args: never[]) => void): unknown;
  off?(event: string, fn: (...args: never[]) => void): unknown;
  prepare(opts?: { candidate?: unknown; timeoutMs?: number; reason?: string; actor?: string }): Promise<FleetPrepared>;
  reload(opts?: { reason?: string; actor?: string; force?: boolean }): Promise<FleetResult>;
  rollback?(opts?: { to?: number; reason?: string; actor?: string }): Promise<FleetResult>;
  pause?(opts?: { reason?: string; actor?: string }): void;
  resume?(opts?: { actor?: string }): Promise<FleetResult | undefined>;
  invalidate?(...args: never[]): unknown;
}
