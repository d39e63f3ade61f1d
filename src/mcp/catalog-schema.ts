/**
 * Validation of what MCP servers list, as Standard Schemas (zod) to pass as a unit's `schema`:
 * a tool needs a name and an `inputSchema` that is a JSON Schema of an object (compiled with the
 * SDK's own validator, so a schema the SDK could not use is refused here, before swap); names are
 * unique; a prompt's arguments are named and unique.
 *
 * @module
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import type { McpPrompt, McpTool } from './sources.js';

let validator: AjvJsonSchemaValidator | undefined;
/** Verdicts by schema text: a catalog re-read after a change re-checks only the schemas that changed. */
const verdicts = new Map<string, string | undefined>();
const MAX_VERDICTS = 2000;

/** The reason `schema` is not a usable JSON Schema, or undefined. */
export function jsonSchemaProblem(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'is not an object';
  if ((schema as { type?: unknown }).type !== 'object') return 'must have type "object"';
  let key: string;
  try {
    key = JSON.stringify(schema);
  } catch {
    return 'is not serializable JSON';
  }
  if (verdicts.has(key)) return verdicts.get(key);
  let verdict: string | undefined;
  try {
    (validator ??= new AjvJsonSchemaValidator()).getValidator(schema as never);
  } catch (error) {
    verdict = `is not valid JSON Schema: ${String((error as Error)?.message ?? error).slice(0, 200)}`;
  }
  if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
  verdicts.set(key, verdict);
  return verdict;
}

const ToolSchema = z.looseObject({ name: z.string().min(1).max(200), inputSchema: z.record(z.string(), z.unknown()) });
const PromptSchema = z.looseObject({
  name: z.string().min(1).max(200),
  arguments: z.array(z.looseObject({ name: z.string().min(1).max(200), required: z.boolean().optional() })).max(100).optional(),
});

/** Rejects a tool whose `inputSchema` is not JSON Schema, and duplicate tool names. */
export const ToolCatalogSchema = z.array(ToolSchema).max(10_000).superRefine((tools, ctx) => {
  const seen = new Set<string>();
  tools.forEach((tool, i) => {
    if (seen.has(tool.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate tool name ${JSON.stringify(tool.name)}` });
    seen.add(tool.name);
    const problem = jsonSchemaProblem(tool.inputSchema);
    if (problem) ctx.addIssue({ code: 'custom', path: [i, 'inputSchema'], message: `inputSchema of tool ${JSON.stringify(tool.name)} ${problem}` });
  });
}) as unknown as z.ZodType<McpTool[]>;

/** Rejects duplicate prompt names and duplicate argument names. */
export const PromptCatalogSchema = z.array(PromptSchema).max(10_000).superRefine((prompts, ctx) => {
  const seen = new Set<string>();
  prompts.forEach((prompt, i) => {
    if (seen.has(prompt.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate prompt name ${JSON.stringify(prompt.name)}` });
    seen.add(prompt.name);
    const args = new Set<string>();
    for (const a of prompt.arguments ?? []) {
      if (args.has(a.name)) ctx.addIssue({ code: 'custom', path: [i, 'arguments'], message: `prompt ${JSON.stringify(prompt.name)} names argument ${JSON.stringify(a.name)} twice` });
      args.add(a.name);
    }
  });
}) as unknown as z.ZodType<McpPrompt[]>;
