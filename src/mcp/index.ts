/**
 * `reloadkit/mcp`: model services behind a gateway (DESIGN §5, docs/mcp-protocol.md).
 *
 * - `createMcpClient` / `createMcpServer` / `startMcpServer`: the wire protocol under `/mcp/v1`.
 * - `modelContext`: hot-updates a model's context, confirmed by its hash.
 * - `modelRollout`: canary rollouts and rollbacks of model versions, with a live `ModelRouter`.
 * - `mcpListChangedTrigger`: reloads on list-changed notifications of an agent-tools MCP server.
 *
 * @module
 */
export * from './protocol.js';
export { McpError, RolloutError } from './errors.js';
export type { McpErrorKind, McpErrorDetail } from './errors.js';
export { createMcpClient } from './client.js';
export type { McpClient, McpClientOptions, CallOptions, WaitOptions } from './client.js';
export { createMcpServer } from './server.js';
export type { McpServerOptions, McpServerHandler, ModelImplementation, InferContext } from './server.js';
export { startMcpServer } from './serve.js';
export type { StartMcpServerOptions, RunningMcpServer } from './serve.js';
export { modelContext } from './context.js';
export type { ModelContextOptions, ModelContextHandle } from './context.js';
export { modelRollout } from './rollout.js';
export type { ModelRollout, ModelRolloutOptions, RolloutTarget, StepReport } from './rollout.js';
export { ModelRouter, StepWindow } from './router.js';
export type { RouteResult, RouterMetrics, StepObservation, ModelRouterOptions } from './router.js';
export { mcpListChangedTrigger } from './list-changed-trigger.js';
export type { McpList, McpNotificationClient } from './list-changed-trigger.js';
