import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyControl } from '../../runtime/schedule-controls.ts';
import type { FailoverRecord } from '../../workflows/definitions.ts';
import type { LocalServer } from '../support/backends.ts';
import { uniqueId } from '../support/db.ts';
import type { EngineHarness } from '../support/engine.ts';
import { startFailoverShell, type FailoverShell } from '../support/failover.ts';
import { failoverDrillRunbookText } from '../support/failover-drill.ts';
import { until } from '../support/poll.ts';
import { protectedRunbookText } from '../support/protection-records.ts';

/**
 * Failover drills on a schedule, through `golive failover schedule|schedules|trigger|…` against the
 * Temporal dev server: only an incident commander makes or changes one, it always names a drill
 * environment, and what it starts comes back as a drill in `golive failover list`.
 */

// olga is an incident commander to this shell only: the worker, whose roles count, does not know her.
const WORKER_ROLES = 'ivan=incident-commander,rita=release-manager';
const ROLES = `${WORKER_ROLES},olga=incident-commander`;
let shell: FailoverShell;
let harness: EngineHarness;
let site: LocalServer;
let folder: string;
const created = new Set<string>();
const cli = (...args: string[]) => shell.cli(...args);

beforeAll(async () => {
  shell = await startFailoverShell('failover_schedules', { worker: WORKER_ROLES, shell: ROLES }, 'staging-site');
  ({ harness, site, folder } = shell);
});

afterAll(async () => {
  for (const id of created) await applyControl(harness.client, id, 'delete', 'test done').catch(() => undefined);
  await shell?.close();
});

/** A failover runbook whose staging environment is the local site; returns its name, file and schedule id. */
async function drillRunbook(prefix: string): Promise<{ name: string; file: string; id: string }> {
  const name = uniqueId(prefix);
  const file = join(folder, `${name}.yaml`);
  await writeFile(file, failoverDrillRunbookText({ name, service: name, stagingUrl: site.url }));
  return { name, file, id: `failover-drill-${name}` };
}

async function schedule(file: string, ...args: string[]) {
  const result = await cli('failover', 'schedule', file, '--cron', '0 4 * * *', ...args);
  const id = /schedule (failover-drill-\S+?)[;:]/.exec(result.stdout)?.[1];
  if (id) created.add(id);
  return result;
}

const exists = (id: string) => harness.client.schedule.getHandle(id).describe().then(() => true, () => false);

describe('who may schedule a failover drill, and against what', () => {
  it('refuses a schedule without --environment, saying why, and names the environments there are', async () => {
    const { name, file, id } = await drillRunbook('no-env');
    const refused = await schedule(file, '--as', 'ivan');
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `golive: cannot schedule failover drills of ${name} without --environment: a scheduled failover of production makes no sense, ` +
        `so a schedule only drills against one of ${name}'s drill environments: staging; nothing changed`,
    );
    const unknown = await schedule(file, '--environment', 'prod', '--as', 'ivan');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, `golive: runbook ${name}: no environment prod in the runbook (known: staging)`]);
    expect(await exists(id)).toBe(false);
  });

  it('refuses anyone who is not an incident commander, with the grant that would allow it, and creates nothing', async () => {
    const { name, file, id } = await drillRunbook('not-ic');
    const refused = await schedule(file, '--environment', 'staging', '--as', 'rita', '--json');
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toEqual({ error: {
      code: 'forbidden',
      message: `rita cannot schedule failover drills of ${name}: only an incident commander may (rita holds release-manager); grant with \`golive roles grant rita incident-commander\``,
    } });
    expect(await exists(id)).toBe(false);
  });
});

describe('a scheduled failover drill', () => {
  it('pins the environment and the incident commander; triggered, it comes back as a drill with trigger schedule', async () => {
    const { name, file, id } = await drillRunbook('scheduled');
    const made = await schedule(file, '--environment', 'staging', '--as', 'ivan');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`^created schedule ${id}; next runs: \\S+T04:00:00\\.000Z`));
    const pinned = (await harness.client.schedule.getHandle(id).describe()).action.args?.[0];
    expect(pinned).toMatchObject({
      workflowType: 'failoverWorkflow',
      run: {
        requestedBy: 'ivan', channel: 'schedule', reason: 'scheduled failover drill (environment staging)',
        drill: { environment: 'staging', trigger: 'schedule' }, runbook: { spec: { targets: { front: { url: site.url } } } },
      },
    });

    const listed = JSON.parse((await cli('failover', 'schedules', '--json')).stdout) as { schedules: Array<Record<string, unknown>> };
    expect(listed.schedules.find((entry) => entry.scheduleId === id)).toMatchObject({
      kind: 'failover-drill', service: name, environment: 'staging', runsAs: 'ivan', cron: '0 4 * * *', paused: false, definition: 'as scheduled',
    });

    const notAllowed = await cli('failover', 'trigger', id, '--as', 'rita');
    expect([notAllowed.code, notAllowed.stderr.trim()]).toEqual([2, `golive: rita cannot trigger failover drill schedule ${id}: only an incident commander may (rita holds release-manager); grant with \`golive roles grant rita incident-commander\``]);
    const triggered = await cli('failover', 'trigger', name, '--as', 'ivan', '--json');
    expect(triggered.code, triggered.stderr).toBe(0);
    const { runId } = JSON.parse(triggered.stdout) as { runId: string };
    expect(runId).toMatch(new RegExp(`^${name}-failover-drill-\\d{8}-\\d{4}-[0-9a-f]{4}$`));

    const drills = async () => (JSON.parse((await cli('failover', 'list', '--drill', '--service', name, '--json')).stdout) as { failovers: FailoverRecord[] }).failovers;
    const [record] = await until(async () => {
      const found = await drills();
      return found[0]?.status === 'succeeded' ? found : undefined;
    }, 60_000, `the scheduled failover drill ${runId} did not succeed`, 500);
    expect(record).toMatchObject({
      runId, service: name, drill: true, environment: 'staging', trigger: 'schedule', requestedBy: 'ivan',
      reason: 'scheduled failover drill (environment staging)', verdict: { rto: 'met' },
    });
    expect(record?.measured.rtoMs).toBe(Date.parse(record?.recoveredAt ?? '') - Date.parse(record?.declaredAt ?? ''));
    expect(JSON.parse((await cli('failover', 'list', '--no-drill', '--json')).stdout)).toEqual({ failovers: [] });

    const table = await cli('failover', 'schedules');
    expect(table.stdout).toMatch(/^SCHEDULE\s+SERVICE\s+ENVIRONMENT\s+RUNS AS\s+CRON\s+STATE\s+NEXT RUN\s+LAST RUN\s+LAST RESULT\s+RUNBOOK FILE\n/);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+${name}\\s+staging\\s+ivan\\s+0 4 \\* \\* \\*\\s+active\\s+\\S+ \\S+Z\\s+${runId}\\s+succeeded\\s+as scheduled`));
  }, 90_000);

  it('starts no failover for someone the worker no longer knows as an incident commander', async () => {
    const { name, file, id } = await drillRunbook('revoked');
    expect((await schedule(file, '--environment', 'staging', '--as', 'olga')).code).toBe(0);
    const triggered = await cli('failover', 'trigger', id, '--as', 'ivan', '--json');
    const { runId } = JSON.parse(triggered.stdout) as { runId: string };
    const run = await until(async () => {
      const found = await harness.store.getRun(runId);
      return found?.status === 'failed' ? found : undefined;
    }, 60_000, `the drill ${runId} of ${name} was not refused`, 500);
    expect(run.state.reason).toContain('olga cannot start this run: it needs the incident-commander role, and olga holds no role');
    expect(run.state.steps.every((step) => step.status === 'pending')).toBe(true);
  }, 90_000);
});

describe('failover-drill schedules keep their own commands', () => {
  it('re-schedules keeping what was not given, pauses, unpauses and unschedules as an incident commander only', async () => {
    const { file, id } = await drillRunbook('controls');
    expect((await schedule(file, '--environment', 'staging', '--reason', 'quarterly drill', '--timezone', 'Europe/Berlin', '--as', 'ivan')).code).toBe(0);
    const again = await cli('failover', 'schedule', file, '--environment', 'staging', '--as', 'ivan', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ scheduleId: id, created: false, kept: { cron: '0 4 * * *', timezone: 'Europe/Berlin', reason: 'quarterly drill' } });
    expect((await harness.client.schedule.getHandle(id).describe()).action.args?.[0]).toMatchObject({ run: { reason: 'quarterly drill' } });

    const paused = await cli('failover', 'pause-schedule', id, '--as', 'ivan', '--comment', 'staging is being rebuilt');
    expect([paused.code, paused.stdout.trim()]).toEqual([0, `paused schedule ${id} (note kept: staging is being rebuilt)`]);
    expect((await cli('failover', 'unpause-schedule', id, '--as', 'rita')).code).toBe(2);
    const refused = await cli('failover', 'trigger', id, '--as', 'ivan');
    expect(refused.stderr.trim()).toBe(
      `golive: cannot trigger ${id}: it is paused (pause by ivan: staging is being rebuilt) and starts no runs until unpaused; nothing changed. ` +
        `Unpause it with \`golive failover unpause-schedule ${id}\`, or start one run anyway with \`golive failover trigger ${id} --force\``,
    );
    expect((await cli('failover', 'unpause-schedule', id, '--as', 'ivan')).code).toBe(0);
    const gone = await cli('failover', 'unschedule', id, '--as', 'ivan');
    expect([gone.code, gone.stdout.trim()]).toEqual([0, `deleted schedule ${id}`]);
    expect(await exists(id)).toBe(false);
  });

  it('refuses a control of another kind of schedule, naming the command that acts on it, in both directions', async () => {
    const { id, file } = await drillRunbook('kinds');
    const backupName = uniqueId('kinds-backup');
    const backupFile = join(folder, `${backupName}.yaml`);
    await writeFile(backupFile, protectedRunbookText({ name: backupName, service: backupName }));
    const backup = await cli('backup', 'schedule', backupFile, '--cron', '0 2 * * *');
    expect(backup.code, backup.stderr).toBe(0);
    created.add(`backup-${backupName}`);
    expect((await schedule(file, '--environment', 'staging', '--as', 'ivan')).code).toBe(0);

    const fromDrill = await cli('drill', 'pause', id);
    expect([fromDrill.code, fromDrill.stderr.trim()]).toEqual([2,
      `golive: ${id} is a failover-drill schedule and \`golive drill pause\` acts only on drill schedules; nothing changed. Use \`golive failover pause-schedule ${id}\``]);
    const fromFailover = await cli('failover', 'unschedule', `backup-${backupName}`, '--as', 'ivan');
    expect([fromFailover.code, fromFailover.stderr.trim()]).toEqual([2,
      `golive: backup-${backupName} is a backup schedule and \`golive failover unschedule\` acts only on failover-drill schedules; nothing changed. Use \`golive backup delete backup-${backupName}\``]);
    const unknown = await cli('failover', 'trigger', 'nowhere', '--as', 'ivan');
    expect(unknown.stderr.trim()).toMatch(/^golive: no failover-drill schedule nowhere; the failover-drill schedules are failover-drill-\S+.* \(`golive failover schedules` lists them\)$/);
    expect((await harness.client.schedule.getHandle(id).describe()).state.paused).toBe(false);
  });
});
