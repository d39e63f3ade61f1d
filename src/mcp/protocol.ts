/**
 * The Model Context Protocol of reloadkit (gateway ↔ model services), JSON over HTTP under
 * `/mcp/v1`. Every payload is defined here once as a zod schema; the client validates every
 * response with it and the server validates every request with it, so both ends agree by
 * construction. The wire format is specified in docs/mcp-protocol.md.
 *
 * @module
 */
import { z } from 'zod';

/** Path prefix of every route. */
export const MCP_BASE_PATH = '/mcp/v1';

/** Names of models and versions: URL-safe, bounded, so they can be path segments and log fields. */
export const NameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit');

/** A context hash: `sha256:` and 64 lowercase hex digits (RFC 8785 canonical JSON, then SHA-256). */
export const HashSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>');

/** Lifecycle of one model version inside a service. */
export const ModelStateSchema = z.enum(['LOADING', 'READY', 'DEGRADED', 'UNLOADING', 'UNAVAILABLE', 'FAILED']);
export type ModelState = z.infer<typeof ModelStateSchema>;

/** Lifecycle of an asynchronous version load. */
export const OperationStatusSchema = z.enum(['RELOAD_INITIATED', 'RELOAD_SUCCESS', 'RELOAD_FAILED']);
export type OperationStatus = z.infer<typeof OperationStatusSchema>;

/** Every error body: a stable machine code and a human message (never a context value). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string().max(64),
    message: z.string().max(2000),
    issues: z.array(z.object({ path: z.string().max(500), message: z.string().max(500) })).max(100).optional(),
  }),
  /** On 412: the service's current context hash, so the caller can re-read without another round trip. */
  contextHash: HashSchema.optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** `GET /health`. */
export const HealthSchema = z.object({ status: z.literal('ok'), uptimeMs: z.number().nonnegative(), deploymentId: z.string().max(200) });
export type Health = z.infer<typeof HealthSchema>;

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

/** `GET /models/:model`. Also sent with an `ETag` of `contextHash`. */
export const ModelInfoSchema = z.object({
  name: NameSchema,
  deploymentId: z.string().max(200),
  state: ModelStateSchema,
  versions: z.array(VersionInfoSchema).max(1000),
  context: ContextSchema,
  contextHash: HashSchema,
  capabilities: z.array(z.string().max(100)).max(100),
  resources: z.object({ rssBytes: z.number().nonnegative(), heapUsedBytes: z.number().nonnegative(), loadedVersions: z.number().int().nonnegative() }),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** `GET /models`. */
export const ModelListSchema = z.object({ models: z.array(ModelInfoSchema).max(1000) });
export type ModelList = z.infer<typeof ModelListSchema>;

/** `GET /models/:model/ready` (200 when ready, 503 otherwise; same body). */
export const ReadinessSchema = z.object({ model: NameSchema, ready: z.boolean(), state: ModelStateSchema, readyVersions: z.array(NameSchema).max(1000) });
export type Readiness = z.infer<typeof ReadinessSchema>;

/** `GET /models/:model/context`: the context alone (also sent with an `ETag` of `contextHash`). */
export const ContextInfoSchema = z.object({ model: NameSchema, context: ContextSchema, contextHash: HashSchema });
export type ContextInfo = z.infer<typeof ContextInfoSchema>;

/** `PUT /models/:model/context` request body (with `If-Match: <current hash>`). */
export const ContextUpdateSchema = z.object({ context: ContextSchema });
export type ContextUpdate = z.infer<typeof ContextUpdateSchema>;

/** `PUT /models/:model/context` 200 response. */
export const ContextUpdatedSchema = z.object({ model: NameSchema, contextHash: HashSchema, previousHash: HashSchema });
export type ContextUpdated = z.infer<typeof ContextUpdatedSchema>;

/** `POST /models/:model/versions` request body. */
export const LoadRequestSchema = z.object({ version: NameSchema });
export type LoadRequest = z.infer<typeof LoadRequestSchema>;

/** An asynchronous operation: `POST /models/:model/versions` (202) and `GET /operations/:id`. */
export const OperationSchema = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/, 'expected a UUID'),
  kind: z.literal('load'),
  model: NameSchema,
  version: NameSchema,
  status: OperationStatusSchema,
  startedAt: z.number().nonnegative(),
  finishedAt: z.number().nonnegative().nullable(),
  error: z.string().max(2000).optional(),
});
export type Operation = z.infer<typeof OperationSchema>;

/** `DELETE /models/:model/versions/:version` 200 response. */
export const UnloadedSchema = z.object({ model: NameSchema, version: NameSchema, state: ModelStateSchema });
export type Unloaded = z.infer<typeof UnloadedSchema>;

/** `PUT /models/:model/weights`: the gateway reports its traffic split (percent per version). */
export const WeightsSchema = z.object({ weights: z.record(NameSchema, z.number().min(0).max(100)) });
export type Weights = z.infer<typeof WeightsSchema>;

/** `POST /models/:model/versions/:version/infer` request body. */
export const InferRequestSchema = z.object({ input: z.unknown() });
export type InferRequest = z.infer<typeof InferRequestSchema>;

/** `POST /models/:model/versions/:version/infer` 200 response. */
export const InferResponseSchema = z.object({
  model: NameSchema,
  version: NameSchema,
  output: z.unknown(),
  contextHash: HashSchema,
  latencyMs: z.number().nonnegative(),
});
export type InferResponse = z.infer<typeof InferResponseSchema>;
