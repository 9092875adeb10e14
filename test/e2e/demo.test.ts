import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { golive } from '../support/cli.ts';

let home: string | undefined;
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

it('`golive demo` runs the restore runbook twice on a fresh embedded stack and exits 0', async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-demo-'));
  await chmod(home, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, GOLIVE_HOME: join(home, '.golive') };
  delete env.TEMPORAL_ADDRESS;
  delete env.DATABASE_URL;
  const result = await golive(['demo'], { env, cwd: home, timeoutMs: 240_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('refused: four-eyes: sam requested run');
  expect(result.stdout).toMatch(/drop-recovered\s+postgres\.query\s+succeeded/);
  expect(result.stdout).toContain('== result: run 1 succeeded, run 2 aborted and rolled back');
}, 300_000);
