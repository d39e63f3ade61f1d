/**
 * Standard Schema validation (zod, valibot, arktype...) turned into a `ValidationError` whose
 * issues carry dotted paths and whose message reads
 * `[config] validation failed (file config.json): db.port: expected number, received string`.
 *
 * Issue messages are scrubbed of the received value (valibot quotes it), so a rejected secret
 * never reaches a status, log or audit record.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError, formatMessage, type ErrorContext, type ValidationIssue } from '../errors.js';

/** How many issues the message lists before `(+N more)`; `issues` always holds them all. */
const MESSAGE_ISSUES = 5;

/**
 * A Standard Schema issue path as a dotted string: `['servers', 0, 'host']` → `servers.0.host`.
 * The root is `''`.
 *
 * @example
 * ```ts
 * dottedPath(['db', { key: 'port' }]); // 'db.port'
 * ```
 */
export function dottedPath(path: StandardSchemaV1.Issue['path']): string {
  if (!path || path.length === 0) return '';
  return path
    .map((segment) => {
      const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
      return typeof key === 'symbol' ? (key.description ?? 'symbol') : String(key);
    })
    .join('.');
}

/**
 * Normalizes a schema library's issue message: drops the generic `Invalid input: ` prefix (zod 4,
 * valibot) and replaces a quoted received value with its kind, so messages read
 * `expected number, received string` and never echo the candidate's content.
 *
 * @example
 * ```ts
 * cleanIssueMessage('Invalid type: Expected number but received "8080"'); // 'expected number but received string'
 * ```
 */
export function cleanIssueMessage(message: string): string {
  let out = message.replace(/^Invalid (?:input|type|value|option|key|length|format)?\s*:\s*(?=\S)/i, '');
  out = out.replace(/(received\s+)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/gi, '$1string');
  out = out.replace(/(received\s+)(-?\d[\d.e+-]*)/gi, '$1number');
  if (out.length > 0) out = out[0]!.toLowerCase() + out.slice(1);
  return out.length > 0 ? out : message;
}

/**
 * Builds the `ValidationError` for a list of issues, message and all.
 *
 * @example
 * ```ts
 * throw validationError([{ path: 'db.port', message: 'expected number, received string' }], { unit: 'config' });
 * ```
 */
export function validationError(issues: ValidationIssue[], ctx: ErrorContext = {}): ValidationError {
  const shown = issues.slice(0, MESSAGE_ISSUES).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > MESSAGE_ISSUES ? ` (+${issues.length - MESSAGE_ISSUES} more)` : '';
  const detail = `${shown.join('; ')}${more}`;
  return new ValidationError(formatMessage('validation failed', ctx, detail), issues, { ...ctx, stage: 'validate' });
}

/**
 * Validates `value` against any Standard Schema v1 and returns the typed output, or throws a
 * `ValidationError` with dotted issue paths. Sync and async schemas are both accepted.
 *
 * @example
 * ```ts
 * const cfg = await validateWithSchema(z.object({ port: z.number() }), raw, { unit: 'config', source: 'file config.json' });
 * ```
 */
export async function validateWithSchema<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  ctx: ErrorContext = {},
): Promise<StandardSchemaV1.InferOutput<S>> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const issues = result.issues.map((issue) => ({ path: dottedPath(issue.path), message: cleanIssueMessage(String(issue.message)) }));
    throw validationError(issues.length > 0 ? issues : [{ path: '', message: 'rejected by schema' }], ctx);
  }
  return (result as StandardSchemaV1.SuccessResult<StandardSchemaV1.InferOutput<S>>).value;
}

/**
 * True when `value` looks like a Standard Schema v1 (has a `~standard` object with `validate`).
 *
 * @example
 * ```ts
 * isStandardSchema(z.string()); // true
 * ```
 */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const std = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return typeof std === 'object' && std !== null && typeof std.validate === 'function';
}
