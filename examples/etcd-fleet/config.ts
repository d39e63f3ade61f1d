/**
 * The config every instance of the fleet serves: shared by the workers (to validate) and by the
 * run script (to know which hash a good push should converge on).
 */
import { z } from 'zod';

export const ConfigSchema = z.object({
  /** Upstream the service proxies to. */
  upstream: z.url(),
  /** Requests per second allowed per client. */
  rateLimit: z.number().int().positive().max(10_000),
  features: z.object({ newCheckout: z.boolean() }),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Where the config lives in etcd, and where the fleet reports. */
export const CONFIG_KEY = '/shop/config';
export const FLEET_PREFIX = '/reloadkit/fleet/shop/';
