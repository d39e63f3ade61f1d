// Node 20 lacks `fs.globSync` (Node 22), which the conformance CLI imports by name (it uses it only
// to find `**/checks.json` result files). This registers a resolve hook that gives the CLI's
// modules an `fs` with a small `globSync` for that one pattern shape; nothing else is changed.
import { register } from 'node:module';
register('./fs-hook.mjs', import.meta.url);
