import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { golive, type CliResult } from './cli.ts';
import { createEngineHarness, shellEnv, type EngineHarness } from './engine.ts';
import { createDrSource, startDrWorker, type DrSource } from './protection.ts';

/** A user's shell next to a protected source database: the CLI, a worker with the real activities, a folder for runbooks. */
export interface DrCli {
  harness: EngineHarness;
  source: DrSource;
  folder: string;
  env: NodeJS.ProcessEnv;
  cli(...args: string[]): Promise<CliResult>;
  /** Writes a runbook file as a user writes it, protecting the source; returns where it is. */
  runbookFile(name: string, options?: { rpo?: string; drill?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startDrCli(prefix: string, orders: number): Promise<DrCli> {
  const harness = await createEngineHarness(prefix);
  const source = await createDrSource(`${prefix}_source`, orders);
  await startDrWorker(harness, source.env);
  const folder = await mkdtemp(join(tmpdir(), `golive-${prefix}-`));
  const env = shellEnv(harness, folder, {
    GOLIVE_RUNBOOKS_DIR: folder,
    GOLIVE_USER: 'sre-on-call',
    ...source.env,
  });
  return {
    harness, source, folder, env,
    cli: (...args) => golive(args, { env }),
    async runbookFile(name, options = {}) {
      const file = join(folder, `${name}.yaml`);
      await writeFile(file, stringify({
        apiVersion: 'golive/v1',
        kind: 'Runbook',
        metadata: { name, service: name },
        spec: {
          strategy: 'warm-standby',
          objectives: { rpo: options.rpo ?? '1h', rto: '1h' },
          targets: {
            source: { type: 'postgres', url: '${DR_SOURCE_URL}' },
            server: { type: 'postgres', url: '${DR_SERVER_URL}' },
            backups: { type: 'filesystem', path: '${DR_BACKUP_DIR}' },
          },
          backup: { source: 'source', store: 'backups' },
          ...(options.drill === false ? {} : { drill: { server: 'server', smoke: [{ id: 'orders', sql: 'SELECT count(*)::int AS n FROM orders', assert: `rows.0.n == ${orders}` }] } }),
          steps: [{ id: 'newest', action: 'backup.latest', target: 'backups', with: { service: name } }],
        },
      }));
      return file;
    },
    async close() {
      await harness.close();
      await source.drop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
