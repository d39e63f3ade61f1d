/**
 * `mcpListChangedTrigger()`: a reloadkit `Trigger` fed by an agent-tools Model Context Protocol
 * server (modelcontextprotocol.io, JSON-RPC). It fires when the server sends
 * `notifications/tools/list_changed`, `notifications/prompts/list_changed`,
 * `notifications/resources/list_changed` or `notifications/resources/updated`, so a unit that
 * caches a tool catalogue re-reads it. The notification is only a hint: the unit re-lists and its
 * hash decides. No SDK code is imported here; pass a connected `Client` of
 * `@modelcontextprotocol/sdk` (an optional peer dependency).
 *
 * @module
 */
import { z } from 'zod';
import type { Trigger } from '../types.js';

/** Which notifications fire the trigger. */
export type McpList = 'tools' | 'prompts' | 'resources' | 'resource-updates';

/** The part of the SDK `Client` this trigger uses. */
export interface McpNotificationClient {
  setNotificationHandler(schema: any, handler: (notification: any) => void | Promise<void>): void;
  removeNotificationHandler(method: string): void;
}

const METHODS: Record<McpList, string> = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
  'resource-updates': 'notifications/resources/updated',
};

/**
 * A trigger firing on list-changed notifications of an MCP (agent-tools) server. It owns the
 * handlers of those notification methods on `client` while started.
 *
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js';
 * const mcp = new Client({ name: 'gateway', version: '1.0.0' });
 * await mcp.connect(transport);
 * const tools = reloadable({ name: 'tools', load: async () => (await mcp.listTools()).tools, triggers: [mcpListChangedTrigger(mcp, ['tools'])] });
 * ```
 */
export function mcpListChangedTrigger(client: McpNotificationClient, lists: readonly McpList[] = ['tools', 'prompts', 'resources']): Trigger {
  if (!client || typeof client.setNotificationHandler !== 'function' || typeof client.removeNotificationHandler !== 'function') {
    throw new TypeError('mcpListChangedTrigger: `client` must be a Client of @modelcontextprotocol/sdk');
  }
  if (!Array.isArray(lists) || lists.length === 0 || !lists.every((l) => Object.hasOwn(METHODS, l))) {
    throw new TypeError(`mcpListChangedTrigger: \`lists\` must be a non-empty array of ${Object.keys(METHODS).join(', ')}`);
  }
  const methods = [...new Set((lists as readonly McpList[]).map((l) => METHODS[l]))];
  let started = false;
  return {
    start(fire) {
      if (started) return;
      started = true;
      for (const method of methods) {
        const schema = z.object({ method: z.literal(method), params: z.optional(z.looseObject({ uri: z.optional(z.string()) })) });
        client.setNotificationHandler(schema, (notification: z.infer<typeof schema>) => {
          // The resource URI names *what* changed (never a value); list notifications carry nothing.
          const uri = notification.params?.uri;
          fire({ kind: 'mcp', detail: uri === undefined ? method : `${method} ${uri.slice(0, 200)}` });
        });
      }
    },
    stop() {
      if (!started) return;
      started = false;
      for (const method of methods) client.removeNotificationHandler(method);
    },
  };
}
