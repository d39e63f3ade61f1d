/**
 * An MCP server's state as reloadkit sources: its tools, its prompts, one rendered prompt, one
 * resource. `read` lists (every page) or gets through the connection; `watch` listens for the
 * matching notification (`tools/list_changed`, `prompts/list_changed`, `resources/updated` of the
 * URI) and, after a new session (a server restart answers the old session id 404), hints a re-read
 * with a `gap`, because whatever was announced while no session was open is lost. A notification
 * is only a hint: the unit re-reads and its hash decides.
 *
 * @module
 */
import type { Hint, Source } from '../types.js';
import type { McpConnection, McpNotificationMethod } from './connection.js';
import { McpError } from './errors.js';

/** A tool as listed by `tools/list` (the SDK's shape, kept open for extensions). */
export interface McpTool {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A prompt as listed by `prompts/list`. */
export interface McpPrompt {
  name: string;
  description?: string;
  arguments?: { name: string; description?: string; required?: boolean }[];
  [extra: string]: unknown;
}

/** What `mcpPromptSource` reads: the prompt's definition and its rendering with `args`. */
export interface McpRenderedPrompt {
  name: string;
  args: Record<string, string>;
  description?: string;
  messages: unknown[];
}

/** What `mcpResourceSource` reads. */
export interface McpResourceValue {
  uri: string;
  contents: unknown[];
}

/** Most pages a list may span: a server that pages forever fails the read instead of hanging it. */
const MAX_PAGES = 100;

async function ready(connection: McpConnection, signal: AbortSignal): Promise<void> {
  if (!connection.connected) await connection.connect({ signal });
}

/** Notifications of `method`, plus one gap hint per new session after the first. */
function watchVia(connection: McpConnection, method: McpNotificationMethod, hint: (h: Hint) => void, filter: (params: Record<string, unknown> | undefined) => boolean = () => true, onSession?: () => void): () => void {
  const name = connection.name;
  const offNote = connection.onNotification(method, (params) => {
    if (filter(params)) hint({ kind: 'mcp', detail: `${method} ${name}` });
  });
  const offSession = connection.onSession((e) => {
    onSession?.();
    if (e.session > 1) hint({ kind: 'mcp', detail: `new session ${name} (${e.reason})`, gap: { since: e.since, reason: 'reconnect' } });
  });
  return () => {
    offNote();
    offSession();
  };
}

function isConnection(value: unknown): value is McpConnection {
  return typeof (value as McpConnection | null)?.request === 'function' && typeof (value as McpConnection).onNotification === 'function';
}

function checkConnection(who: string, connection: unknown): asserts connection is McpConnection {
  if (!isConnection(connection)) throw new TypeError(`${who}: \`connection\` must be an McpConnection (mcpConnection)`);
}

/**
 * The tools of an MCP server. Pair it with `ToolCatalogSchema` to reject an invalid input schema or
 * a duplicate name before swap.
 *
 * @example
 * ```ts
 * const tools = reloadable({ name: 'tools:search', source: mcpToolsSource(search), schema: ToolCatalogSchema });
 * ```
 */
export function mcpToolsSource(connection: McpConnection): Source<McpTool[]> {
  checkConnection('mcpToolsSource', connection);
  return {
    describe: () => `${connection.describe()} tools`,
    async read({ signal }) {
      await ready(connection, signal);
      const tools: McpTool[] = [];
      let cursor: string | undefined;
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new McpError(`${connection.describe()} tools/list spans more than ${MAX_PAGES} pages`, { kind: 'malformed' });
        const result = await connection.request('tools/list', (c, o) => c.listTools(cursor === undefined ? {} : { cursor }, o), { signal });
        tools.push(...(result.tools as McpTool[]));
        cursor = result.nextCursor;
        if (cursor === undefined) return tools;
      }
    },
    watch: (hint) => watchVia(connection, 'notifications/tools/list_changed', hint),
  };
}

/**
 * The prompts of an MCP server (their definitions).
 *
 * @example
 * ```ts
 * const prompts = reloadable({ name: 'prompts:docs', source: mcpPromptsSource(docs), schema: PromptCatalogSchema });
 * ```
 */
export function mcpPromptsSource(connection: McpConnection): Source<McpPrompt[]> {
  checkConnection('mcpPromptsSource', connection);
  return {
    describe: () => `${connection.describe()} prompts`,
    async read({ signal }) {
      await ready(connection, signal);
      const prompts: McpPrompt[] = [];
      let cursor: string | undefined;
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new McpError(`${connection.describe()} prompts/list spans more than ${MAX_PAGES} pages`, { kind: 'malformed' });
        const result = await connection.request('prompts/list', (c, o) => c.listPrompts(cursor === undefined ? {} : { cursor }, o), { signal });
        prompts.push(...(result.prompts as McpPrompt[]));
        cursor = result.nextCursor;
        if (cursor === undefined) return prompts;
      }
    },
    watch: (hint) => watchVia(connection, 'notifications/prompts/list_changed', hint),
  };
}

/**
 * One prompt rendered with `args` (`prompts/get`), re-read when the prompt list changes. A read
 * fails, naming the arguments, when the prompt is gone or `args` lacks one it requires: the live
 * rendering is kept.
 *
 * @example
 * ```ts
 * const review = reloadable({ name: 'prompt:review', source: mcpPromptSource(docs, 'code-review', { language: 'ts' }) });
 * ```
 */
export function mcpPromptSource(connection: McpConnection, name: string, args: Record<string, string> = {}): Source<McpRenderedPrompt> {
  checkConnection('mcpPromptSource', connection);
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('mcpPromptSource: `name` must be a non-empty string');
  if (typeof args !== 'object' || args === null || !Object.values(args).every((v) => typeof v === 'string')) throw new TypeError('mcpPromptSource: `args` must be an object of strings');
  const frozen = { ...args };
  const prompts = mcpPromptsSource(connection);
  return {
    describe: () => `${connection.describe()} prompt ${name}`,
    async read(ctx) {
      const definition = (await prompts.read(ctx)).find((p) => p.name === name);
      if (!definition) throw new McpError(`${connection.describe()} has no prompt ${JSON.stringify(name)}`, { kind: 'tool', serverCode: 'UNKNOWN_PROMPT' });
      const missing = (definition.arguments ?? []).filter((a) => a.required && frozen[a.name] === undefined).map((a) => a.name);
      if (missing.length > 0) throw new McpError(`prompt ${JSON.stringify(name)} requires the argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { kind: 'tool', serverCode: 'MISSING_ARGUMENT' });
      const result = await connection.request(`prompts/get ${name}`, (c, o) => c.getPrompt({ name, arguments: frozen }, o), { signal: ctx.signal });
      const out: McpRenderedPrompt = { name, args: frozen, messages: result.messages };
      if (result.description !== undefined) out.description = result.description;
      return out;
    },
    watch: (hint) => watchVia(connection, 'notifications/prompts/list_changed', hint),
  };
}

/**
 * One resource (`resources/read`), subscribed (`resources/subscribe`) while watched, re-subscribed
 * on every new session; re-read on `notifications/resources/updated` of its URI.
 *
 * @example
 * ```ts
 * const model = reloadable({ name: 'model:sentiment', source: mcpResourceSource(models, 'model://sentiment') });
 * ```
 */
export function mcpResourceSource(connection: McpConnection, uri: string): Source<McpResourceValue> {
  checkConnection('mcpResourceSource', connection);
  if (typeof uri !== 'string' || !URL.canParse(uri)) throw new TypeError(`mcpResourceSource: \`uri\` must be an absolute URI, got ${JSON.stringify(String(uri)).slice(0, 100)}`);
  const subscribe = (): void => {
    if (!connection.connected) return;
    void connection.request(`resources/subscribe ${uri}`, (c, o) => c.subscribeResource({ uri }, o)).catch(() => undefined);
  };
  return {
    describe: () => `${connection.describe()} resource ${uri}`,
    async read({ signal }) {
      await ready(connection, signal);
      const result = await connection.request(`resources/read ${uri}`, (c, o) => c.readResource({ uri }, o), { signal });
      return { uri, contents: result.contents };
    },
    watch(hint) {
      subscribe();
      const stop = watchVia(connection, 'notifications/resources/updated', hint, (params) => params?.uri === uri, subscribe);
      return () => {
        stop();
        if (connection.connected) void connection.request(`resources/unsubscribe ${uri}`, (c, o) => c.unsubscribeResource({ uri }, o)).catch(() => undefined);
      };
    },
  };
}
