#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/tskvm.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('tskvm: not built yet; run `npm install` (or `npm run build`) in the repository first\n');
  process.exit(70);
}
await import(entry.href);
