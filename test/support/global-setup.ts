import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { startPostgres } from '../../stack/postgres.ts';
import { startTemporalDevServer } from '../../stack/temporal.ts';
import { WORKFLOWS_PATH } from '../../runtime/workflows-path.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    postgresUrl: string;
    workflowBundlePath: string;
  }
}

/** One Temporal dev server, one Postgres cluster and one workflow bundle for the whole test run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests run `golive` as users do: the compiled command, rebuilt when a source changed.
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url)), '--if-stale'], { stdio: 'inherit' });
  const toolchain = loadToolchain({ temporalCli: process.env.TEMPORAL_CLI, pgBin: process.env.GOLIVE_PG_BIN });
  const scratch = await mkdtemp(join(tmpdir(), 'golive-test-'));
  await chmod(scratch, 0o755);
  const started = await Promise.allSettled([
    startTemporalDevServer({ cli: requireTool(toolchain, 'temporal'), uiPort: null, logFile: join(scratch, 'temporal.log') }),
    startPostgres({ pgBin: requireTool(toolchain, 'pgBin'), dataDir: join(scratch, 'pg'), durable: false }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
  ] as const);
  const [temporalResult, postgresResult, bundleResult] = started;
  const stopAll = async () => {
    await Promise.allSettled([
      temporalResult.status === 'fulfilled' ? temporalResult.value.stop() : undefined,
      postgresResult.status === 'fulfilled' ? postgresResult.value.stop() : undefined,
    ]);
    await rm(scratch, { recursive: true, force: true });
  };
  if (temporalResult.status === 'rejected' || postgresResult.status === 'rejected' || bundleResult.status === 'rejected') {
    await stopAll();
    const reasons = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    throw new Error(`test stack did not start:\n${reasons.join('\n')}`);
  }
  const [temporal, postgres, bundle] = [temporalResult.value, postgresResult.value, bundleResult.value];
  const workflowBundlePath = join(scratch, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', temporal.address);
  project.provide('postgresUrl', postgres.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  return stopAll;
}

const ignore = () => {};
const quietLogger = { log: ignore, trace: ignore, debug: ignore, info: ignore, warn: ignore, error: console.error };
