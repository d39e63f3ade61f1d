#!/usr/bin/env node
/**
 * The `reloadkit` command: status, reload and rollback of the units of a running service through
 * its admin endpoint (`reloadkit/http`). See `reloadkit --help` and docs/http.md.
 *
 * @module
 */
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  isTTY: process.stdout.isTTY === true,
  size: () => ({ columns: process.stdout.columns, rows: process.stdout.rows }),
});
