/**
 * An HTTP service whose answers follow `config.json`: edit the file and the next request sees the
 * new greeting; save a broken file and the service keeps answering with the last good one; send
 * `kill -HUP <pid>` to force a re-read. Run: `node --import tsx examples/file-config/server.ts`.
 *
 * Environment: `CONFIG` (default: config.json next to this file), `PORT` (default 8080),
 * `HOST` (default 127.0.0.1).
 */
import { createServer } from 'node:http';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { reloadable, signalTrigger } from '../../src/index.js';
import { fileSource } from '../../src/file/index.js';

const here = dirname(fileURLToPath(import.meta.url));
// Shown relative to the working directory: it appears in every log line and error message.
const configPath = process.env.CONFIG ?? relative(process.cwd(), join(here, 'config.json'));
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const ConfigSchema = z.object({
  greeting: z.string().min(1),
  // How many times to repeat the greeting: a number, so a typo like "2x" is rejected.
  repeat: z.number().int().min(1).max(10).default(1),
});

const config = reloadable({
  name: 'config',
  source: fileSource(configPath, { debounceMs: 100 }),
  schema: ConfigSchema,
  triggers: [signalTrigger('SIGHUP')],
});

// One line per outcome: what an operator wants to see in the logs (hashes, never values).
config.on('committed', ({ current, changedPaths }) => {
  console.log(`config: generation ${current.id} committed (${current.trigger.kind}) changed: ${changedPaths.join(', ') || '-'}`);
});
config.on('unchanged', ({ current, result }) => {
  console.log(`config: unchanged, still generation ${current.id} (attempt ${result.id})`);
});
config.on('rejected', ({ error }) => {
  console.log(`config: rejected, keeping generation ${config.current?.id ?? 0}: ${error.message}`);
});

await config.start();

const server = createServer((req, res) => {
  // `use` holds a lease: the generation answering this request stays whole until it is sent.
  void config.use((cfg, generation) => {
    const body = JSON.stringify({ message: Array(cfg.repeat).fill(cfg.greeting).join(' '), generation: generation.id });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${body}\n`);
  });
});

server.listen(port, host, () => {
  console.log(`listening on http://${host}:${port} (pid ${process.pid}), config ${configPath}`);
});

const shutdown = (): void => {
  server.close();
  void config.close().then(() => console.log('closed'));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
