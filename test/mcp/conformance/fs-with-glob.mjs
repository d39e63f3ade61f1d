import fs from 'node:fs';
import { join, relative } from 'node:path';
export * from 'node:fs';
export default fs;
/** `globSync('**' + '/name', { cwd })` only: every file called `name` under `cwd`. */
export function globSync(pattern, options = {}) {
  const cwd = options.cwd ?? process.cwd();
  const name = String(pattern).replace(/^\*\*\//, '');
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === name) out.push(relative(cwd, path));
    }
  };
  if (fs.existsSync(cwd)) walk(cwd);
  return out;
}
