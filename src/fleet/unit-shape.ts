/**
 * What reloadkit/fleet needs of a unit: a `reloadable()` unit (prepare, rollback, pause and
 * resume come from the operator workflow). A cache fits for commands (`invalidate`).
 *
 * @module
 */
import type { Reloadable } from '../types.js';

type AnyUnit = Reloadable<any, any>;

export type FleetUnit = Pick<AnyUnit, 'name' | 'status' | 'on' | 'off' | 'prepare' | 'reload'> &
  Partial<Pick<AnyUnit, 'rollback' | 'pause' | 'resume'>> & { invalidate?: (...args: never[]) => unknown };

export type FleetPrepared = Awaited<ReturnType<AnyUnit['prepare']>>;
