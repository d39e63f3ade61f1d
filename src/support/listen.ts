/**
 * Moved to the HTTP kit (`support/http/listen.ts`); kept as a re-export while callers move.
 *
 * @module
 */
export { hostForUrl, listen, type Listening } from './http/listen.js';
