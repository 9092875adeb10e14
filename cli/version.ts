import pkg from '../package.json' with { type: 'json' };
import { loadConfig } from '../config/env.ts';
import { createPool, resolveEndpoints } from '../runtime/connections.ts';
import { appliedSchema, shippedMigrations } from '../store/migrate.ts';
import { UserError } from '../runtime/errors.ts';

/** A part of the stack: its version where it answered, else why not. */
type Probe = { at: string; version: string } | { at?: string; error: string };

export interface VersionReport {
  golive: string;
  node: string;
  temporal: Probe;
  postgres: Probe & { schema?: string };
  /** The newest migration this golive ships; `postgres.schema` is the newest one applied there. */
  schema: string;
}

/** `004_identity`: a migration as people name it. */
const migration = (file: string) => file.replace(/\.sql$/, '');
const failed = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

async function probeTemporal(address: string): Promise<Probe> {
  const reads = (await import('../runtime/temporal-reads.ts')).connectTemporalReads(loadConfig(), address);
  try {
    return { at: address, version: await reads.serverVersion() };
  } catch (error) {
    return { at: address, error: failed(error) };
  } finally {
    reads.close();
  }
}

async function probePostgres(databaseUrl: string): Promise<VersionReport['postgres']> {
  const url = new URL(databaseUrl);
  const at = `${url.hostname}:${url.port || 5432}${url.pathname}`;
  const pool = createPool(databaseUrl);
  try {
    const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
    const applied = await appliedSchema(pool);
    return { at, version: rows[0]!.server_version, schema: applied ? migration(applied) : 'none (golive never migrated this database)' };
  } catch (error) {
    return { at, error: failed(error) };
  } finally {
    await pool.end();
  }
}

export async function versionReport(): Promise<VersionReport> {
  const base = { golive: pkg.version, node: process.version, schema: migration((await shippedMigrations()).at(-1)!) };
  let endpoints;
  try {
    endpoints = resolveEndpoints(loadConfig());
  } catch (error) {
    const reason = failed(error);
    return { ...base, temporal: { error: reason }, postgres: { error: reason } };
  }
  const [temporal, postgres] = await Promise.all([probeTemporal(endpoints.temporalAddress), probePostgres(endpoints.databaseUrl)]);
  return { ...base, temporal, postgres };
}

export function formatVersion(report: VersionReport): string {
  const part = (name: string, probe: Probe) =>
    'error' in probe ? `${name.padEnd(9)} unreachable${probe.at ? ` at ${probe.at}` : ''}: ${probe.error}` : `${name.padEnd(9)} ${probe.version} at ${probe.at}`;
  const { schema } = report.postgres;
  const drift = schema && schema !== report.schema ? ` — this golive ships ${report.schema}; \`golive dev\` or \`golive worker\` applies it` : '';
  return [
    `golive ${report.golive} (node ${report.node})`,
    part('temporal', report.temporal),
    part('postgres', report.postgres),
    `schema    ${schema ?? 'unknown'}${schema ? drift : ` (this golive ships ${report.schema})`}`,
  ].join('\n');
}

/** `golive --version [--json]`: always exits 0 when it could print golive's own version. */
export async function printVersion(args: string[]): Promise<void> {
  const unknown = args.filter((arg) => arg !== '--json');
  if (unknown.length > 0) throw new UserError(`golive --version takes only --json, not ${unknown.join(' ')}`);
  const report = await versionReport();
  process.stdout.write(`${args.includes('--json') ? JSON.stringify(report, null, 2) : formatVersion(report)}\n`);
}
