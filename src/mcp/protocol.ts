/**
 * The model-service control plane carried over the Model Context Protocol: the names of its tools
 * and resources, and every payload they carry, defined once as zod schemas. The server validates
 * every tool argument with them and the client validates every resource and tool result with them,
 * so both ends agree by construction. The tools and resources are specified in docs/mcp.md.
 *
 * @module
 */
import { z } from 'zod';

/** Names of models and versions: URI-safe, bounded, so they can be URI segments and log fields. */
export const NameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit');

/** A context hash: `sha256:` and 64 lowercase hex digits (RFC 8785 canonical JSON, then SHA-256). */
export const HashSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>');

/** Lifecycle of one model version inside a service. */
export const ModelStateSchema = z.enum(['LOADING', 'READY', 'DEGRADED', 'UNLOADING', 'UNAVAILABLE', 'FAILED']);
export type ModelState = z.infer<typeof ModelStateSchema>;

/** The tools of the model service. */
export const TOOLS = {
  loadVersion: 'load_version',
  unloadVersion: 'unload_version',
  updateContext: 'update_context',
  setWeights: 'set_weights',
  infer: 'infer',
} as const;

/** `model://{model}`: versions, states, usage, capabilities. */
export function modelUri(model: string): string {
  return `model://${model}`;
}

/** `model://{model}/context`: the context and its hash. */
export function contextUri(model: string): string {
  return `model://${model}/context`;
}

/** One version as the service reports it. `weight` is the traffic share last reported by the gateway. */
export const VersionInfoSchema = z.object({
  version: NameSchema,
  state: ModelStateSchema,
  weight: z.number().min(0).max(100),
  loadedAt: z.number().nonnegative().nullable(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  error: z.string().max(2000).optional(),
});
export type VersionInfo = z.infer<typeof VersionInfoSchema>;

/** The context of a model: parameters, prompt templates... any JSON object. */
export const ContextSchema = z.record(z.string(), z.unknown());
export type ModelContextValue = z.infer<typeof ContextSchema>;

/** The `model://{model}` resource. */
export const ModelInfoSchema = z.object({
  name: NameSchema,
  deploymentId: z.string().max(200),
  state: ModelStateSchema,
  versions: z.array(VersionInfoSchema).max(1000),
  contextHash: HashSchema,
  capabilities: z.array(z.string().max(100)).max(100),
  resources: z.object({ rssBytes: z.number().nonnegative(), heapUsedBytes: z.number().nonnegative(), loadedVersions: z.number().int().nonnegative() }),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** The `model://{model}/context` resource. */
export const ContextInfoSchema = z.object({ model: NameSchema, context: ContextSchema, contextHash: HashSchema });
export type ContextInfo = z.infer<typeof ContextInfoSchema>;

/** Arguments of `update_context`. */
export const UpdateContextArgs = { model: NameSchema, context: ContextSchema, expectedHash: HashSchema };
/** Result of `update_context`: `ok: false, conflict: true` carries the service's current hash. */
export const ContextUpdatedSchema = z.object({
  model: NameSchema,
  ok: z.boolean(),
  conflict: z.boolean(),
  contextHash: HashSchema,
  previousHash: HashSchema.optional(),
});
export type ContextUpdated = z.infer<typeof ContextUpdatedSchema>;

/** Arguments of `load_version` / `unload_version`. */
export const VersionArgs = { model: NameSchema, version: NameSchema };
/** Result of `load_version` and `unload_version`: the version's state right after the call. */
export const VersionStateSchema = z.object({ model: NameSchema, version: NameSchema, state: ModelStateSchema, error: z.string().max(2000).optional() });
export type VersionState = z.infer<typeof VersionStateSchema>;

/** Arguments of `set_weights`: the gateway reports its traffic split (percent per version). */
export const SetWeightsArgs = { model: NameSchema, weights: z.record(NameSchema, z.number().min(0).max(100)) };
export const WeightsSchema = z.object({ model: NameSchema, weights: z.record(NameSchema, z.number().min(0).max(100)) });
export type Weights = z.infer<typeof WeightsSchema>;

/** Arguments of `infer`. */
export const InferArgs = { model: NameSchema, version: NameSchema, input: z.unknown() };
/** Result of `infer`. */
export const InferResponseSchema = z.object({
  model: NameSchema,
  version: NameSchema,
  output: z.unknown(),
  contextHash: HashSchema,
  latencyMs: z.number().nonnegative(),
});
export type InferResponse = z.infer<typeof InferResponseSchema>;

/** A tool error's structured content: a stable machine code and a message (never a context value). */
export const ToolErrorSchema = z.object({
  error: z.object({
    code: z.string().max(64),
    message: z.string().max(2000),
    issues: z.array(z.object({ path: z.string().max(500), message: z.string().max(500) })).max(100).optional(),
  }),
});
export type ToolError = z.infer<typeof ToolErrorSchema>;
