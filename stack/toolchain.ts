import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where the project's bootstrap (scripts/bootstrap.mjs) records the tools it found or installed. */
export const TOOLCHAIN_FILE = fileURLToPath(new URL('../.tools/toolchain.json', import.meta.url));

const path = z.string().min(1).nullable().default(null);
const ToolchainSchema = z.object({
  temporal: path,
  temporalTestServer: path,
  pgBin: path,
  pgVersion: z.number().int().nullable().default(null),
  nginx: path,
  prometheus: path,
  motoServer: path,
  dockerCompose: path,
});
export type Toolchain = z.infer<typeof ToolchainSchema>;

export interface ToolOverrides {
  temporalCli?: string;
  pgBin?: string;
}

/** The recorded toolchain, with TEMPORAL_CLI / GOLIVE_PG_BIN taking precedence. */
export function loadToolchain(overrides: ToolOverrides = {}): Toolchain {
  const recorded = existsSync(TOOLCHAIN_FILE) ? ToolchainSchema.parse(JSON.parse(readFileSync(TOOLCHAIN_FILE, 'utf8'))) : ToolchainSchema.parse({});
  return {
    ...recorded,
    temporal: overrides.temporalCli ?? recorded.temporal,
    pgBin: overrides.pgBin ?? recorded.pgBin,
  };
}

/** The path of a tool, or an error saying how to get it. */
export function requireTool(toolchain: Toolchain, tool: keyof Omit<Toolchain, 'pgVersion'>): string {
  const found = toolchain[tool];
  if (found && existsSync(found)) return found;
  throw new Error(`${tool} is not installed for golive: run \`npm run bootstrap\` (it finds or installs it and says what is missing)`);
}
