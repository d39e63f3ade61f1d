/**
 * The schema has the last word on coercion. String-typed inputs that look like JSON were parsed
 * (`APP_PORT=6543` → 6543); where the schema rejects such a value and accepts the raw string
 * instead (`APP_NAME=42` for `name: z.string()`), the raw string is put back. Nothing is ever
 * coerced *towards* what the schema wants: `5432x` stays `'5432x'` and fails a number schema.
 *
 * Costs at most two extra schema runs per read, and none when no issue touches a coerced value.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { getPath, replacePath } from './paths.js';

/** The dotted paths of a schema's issues for `value` (empty when it passes). */
async function issuePaths(schema: StandardSchemaV1, value: unknown): Promise<string[]> {
  const result = await schema['~standard'].validate(value);
  if (!result.issues) return [];
  return result.issues.map((issue) =>
    (issue.path ?? []).map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment)).join('.'),
  );
}

const covers = (path: string, issue: string): boolean => issue === path || issue.startsWith(`${path}.`);

/**
 * Puts back the raw string at every coerced path where the schema prefers it. Mutates and
 * returns `value`; returns the paths that were put back.
 *
 * @example
 * ```ts
 * await preferStrings({ name: 42 }, new Map([['name', '42']]), z.object({ name: z.string() }));
 * // { value: { name: '42' }, restored: ['name'] }
 * ```
 */
export async function preferStrings(
  value: Record<string, unknown>,
  alternates: ReadonlyMap<string, string>,
  schema: StandardSchemaV1 | undefined,
): Promise<{ value: Record<string, unknown>; restored: string[] }> {
  if (schema === undefined || alternates.size === 0) return { value, restored: [] };
  const issues = await issuePaths(schema, value);
  const implicated = [...alternates.keys()].filter((path) => issues.some((issue) => covers(path, issue)));
  if (implicated.length === 0) return { value, restored: [] };
  const coerced = new Map(implicated.map((path) => [path, getPath(value, path)]));
  for (const path of implicated) replacePath(value, path, alternates.get(path));
  const after = await issuePaths(schema, value);
  const restored: string[] = [];
  for (const path of implicated) {
    // The string did not help here: keep the parsed value, so the error speaks of it.
    if (after.some((issue) => covers(path, issue))) replacePath(value, path, coerced.get(path));
    else restored.push(path);
  }
  return { value, restored };
}
