/**
 * Error detail that is safe to put in a status, an audit record or an HTTP body: the first line
 * of the message, with the input snippet that `JSON.parse` quotes removed, capped in length.
 * Parsers echo the text they choke on (which may hold a password); reloadkit never repeats it.
 *
 * @module
 */

const MAX = 300;

/**
 * A one-line, bounded, snippet-free description of `error`.
 *
 * @example
 * ```ts
 * safeMessage(new SyntaxError('Unexpected token \'p\', "{password: hunter2}" is not valid JSON'));
 * // "Unexpected token 'p', input is not valid JSON"
 * ```
 */
export function safeMessage(error: unknown, max = MAX): string {
  let message: string;
  if (error instanceof Error) message = error.message || error.name;
  else if (typeof error === 'string') message = error;
  else message = `non-error thrown (${error === null ? 'null' : typeof error})`;
  message = message.split(/\r?\n/, 1)[0] ?? '';
  // V8: `Unexpected token 'x', "…snippet…" is not valid JSON` — drop the snippet.
  message = message.replace(/"[\s\S]*" is not valid JSON/, 'input is not valid JSON');
  if (message.length > max) message = `${message.slice(0, max - 1)}…`;
  return message;
}
