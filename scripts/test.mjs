#!/usr/bin/env node
// Runs every test/**/*.test.ts on node:test through tsx. Extra arguments narrow the run:
// `npm test -- test/core/semantics.test.ts`.
import { spawn } from 'node:child_process';
import { testArgs } from './test-files.mjs';

const child = spawn(process.execPath, testArgs(process.argv.slice(2)), { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
