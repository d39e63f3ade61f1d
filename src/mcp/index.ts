/**
 * `reloadkit/mcp`: the Model Context Protocol (modelcontextprotocol.io) on both sides of a gateway
 * (docs/mcp.md), on `@modelcontextprotocol/sdk`.
 *
 * - `mcpConnection`: a supervised SDK client (Streamable HTTP or stdio) that re-opens lost sessions.
 * - `mcpToolsSource` / `mcpPromptsSource` / `mcpPromptSource` / `mcpResourceSource`: an MCP
 *   server's state as reloadkit sources, re-read on list-changed/updated notifications and new sessions.
 * - `mcpCatalog`: one tool catalog across many servers, committed atomically.
 * - `mcpConnectionSet`: connections that follow their config (build, ping, swap, drain, close).
 * - `createMcpServer` / `startMcpServer`: a model service as an MCP server (resources
 *   `model://{model}`, `model://{model}/context`; tools `load_version`, `unload_version`,
 *   `update_context`, `set_weights`, `infer`), and `modelServiceClient` to drive it.
 * - `modelContext` / `modelRollout`: context confirmed by hash, canary rollouts with rollback.
 *
 * @module
 */
export * from './protocol.js';
export { McpError, RolloutError } from './errors.js';
export type { McpErrorKind, McpErrorDetail } from './errors.js';
export { mcpConnection } from './connection.js';
export type { McpConnection, McpConnectionOptions, McpCallOptions, McpNotificationMethod, SessionEvent } from './connection.js';
export { mcpToolsSource, mcpPromptsSource, mcpPromptSource, mcpResourceSource } from './sources.js';
export type { McpTool, McpPrompt, McpRenderedPrompt, McpResourceValue } from './sources.js';
export { ToolCatalogSchema, PromptCatalogSchema, jsonSchemaProblem } from './catalog-schema.js';
export { mcpCatalog } from './catalog.js';
export type { McpCatalog, McpCatalogOptions, CatalogEntry, ToolCatalog, CatalogReload } from './catalog.js';
export { mcpConnectionSet, ServerListSchema } from './connection-set.js';
export type { McpConnectionSetOptions, McpConnections, McpServerConfig } from './connection-set.js';
export { modelServiceClient } from './model-client.js';
export type { ModelServiceClient, CallOptions, WaitOptions } from './model-client.js';
export { createMcpServer, MCP_PATH } from './server.js';
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
