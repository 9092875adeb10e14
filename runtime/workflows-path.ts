import { fileURLToPath } from 'node:url';

/** The workflow entry file the worker bundles (webpack needs a real file path). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
