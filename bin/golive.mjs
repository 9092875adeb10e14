#!/usr/bin/env node
// Entry point of the `golive` command: the compiled bundle in dist/ (built by `npm run bootstrap`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/golive.mjs', import.meta.url));
if (!existsSync(bundle)) {
  console.error('golive: not built yet: run `npm run bootstrap` (or `npm run build`) in the golive checkout');
  process.exit(3);
}
await import(bundle);
