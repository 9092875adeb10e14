import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED, type DrillRecord, type RunState } from '../../workflows/definitions.ts';
import { golive } from '../support/cli.ts';
import { until } from '../support/poll.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_VARIABLES = ['DEMO_ORDERS_URL', 'DEMO_RECOVERY_SERVER_URL', 'DEMO_RECOVERED_URL', 'DEMO_BACKUP_DIR'];

let home: string;
let env: NodeJS.ProcessEnv;

/** `golive ARGS` from the project folder, as the README's commands are typed. */
const run = (...args: string[]) => golive(args, { env, cwd: ROOT, timeoutMs: 180_000 });
const status = async (id: string) => JSON.parse((await run('status', id, '--json')).stdout) as RunState;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'golive-demo-'));
  await chmod(home, 0o755);
  env = { ...process.env, GOLIVE_HOME: join(home, '.golive'), GOLIVE_USER: 'dana', GOLIVE_HTTP_PORT: '0', GOLIVE_ROLES: 'ivan=incident-commander' };
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', ...DEMO_VARIABLES]) delete env[name];
});

afterAll(async () => {
  await run('dev', '--stop');
  await rm(home, { recursive: true, force: true });
});

describe('the demo, and the stage it leaves', () => {
  it('`golive demo` tells the DR story on a fresh embedded stack: backup, writes, drill with measured RPO/RTO, posture, go-live, failover', async () => {
    const result = await golive(['demo'], { env, cwd: home, timeoutMs: 240_000 });
    // The only warnings: the worker announcing the go-live rollback (no Slack here), and Temporal reporting that run as failed.
    const warnings = result.stderr.split('\n').filter((line) => line !== '');
    const rollbackWarning = /^golive demo: warning: (?::rewind: rollout orders-new-checkout-demo-\S+ of orders-demo: flag new-checkout rolled back from 50% to 0% — |Workflow failed: run orders-new-checkout-demo-\S+ failed: )guard error-rate breached/;
    expect(warnings.filter((line) => !rollbackWarning.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/^\s*\{/m);
    expect(result.stdout).toMatch(/backup run orders-drill-demo-backup-\S+: succeeded/);
    expect(result.stdout).toMatch(/drill orders-drill-demo-drill-\S+: PASSED/);
    const rpo = /RPO\s+measured (\d+\.\d)s \(newest heartbeat [^)]+, source clock\)\s+objective 5m\s+met/.exec(result.stdout);
    expect(rpo, result.stdout).not.toBeNull();
    // Five seconds of writes passed between the backup and the drill: that is the data lost.
    expect(Number(rpo![1])).toBeGreaterThanOrEqual(5);
    expect(result.stdout).toMatch(/disaster declared \(T_d\) \S+ \S+Z on the worker clock \(source clock [+-][\d.]+m?s\)/);
    // The ground truth is one number when the newest beat did not change while the backup ran.
    const truth = /measured RPO (\d+\.\d)s on the source clock from the newest heartbeat .*: (?:between (\d+\.\d)s and (\d+\.\d)s|(\d+\.\d)s \(its newest beat was the same)/.exec(result.stdout);
    expect(truth, result.stdout).not.toBeNull();
    expect(result.stdout).not.toMatch(/between (\d+\.\d)s and \1s/);
    const [measured, least, most] = [Number(truth![1]), Number(truth![2] ?? truth![4]), Number(truth![3] ?? truth![4])];
    expect(measured).toBeGreaterThanOrEqual(least - 0.1);
    expect(measured).toBeLessThanOrEqual(most + 0.1);
    expect(result.stdout).toMatch(/RTO\s+measured \d+\.\ds\s+objective 15m\s+met/);
    expect(result.stdout).toMatch(/orders-demo\s+warm-standby\s+5m\s+15m\s+\d+s ago\s+passed \(RPO [\d.]+s, RTO [^)]+\)\s+ok/);
    // Go-live: the gate's DR item proven by the drill just run, sign-offs by the second release manager, 10% then 50%, errors, the guard's rollback.
    const drill = /drill (orders-drill-demo-drill-\S+): PASSED/.exec(result.stdout)?.[1];
    expect(result.stdout).toContain(`restore-tested (passed): drill ${drill} (passed, passed `);
    expect(result.stdout).toMatch(/checklist run orders-new-checkout-demo-\S+-gate: PASSED/);
    expect(result.stdout).toMatch(/\nrollback-plan\s+passed\s+sign-off\s+yes\s+demo-approver/);
    expect(result.stdout).toMatch(/\nat 10%: [1-9]\d* of \d+ users on the new checkout \(\d+ requests, 0 answered 5xx\)\nat 50%: [1-9]\d* of \d+ users/);
    expect(result.stdout).toMatch(/rollout orders-new-checkout-demo-\S+: ROLLED-BACK/);
    expect(result.stdout).toMatch(/rolled back from 50% to 0% at \S+ \S+ by golive: guard error-rate breached 3 times in a row/);
    expect(result.stdout).toMatch(/golive\s+guard\.tripped\s+guard=error-rate/);
    const rollback = /error injection → flag back at 0% as OFREP answers it: ([\d.]+)s \(budget interval 1s × failureLimit 3 \+ 2s = 5\.0s: (?:met|MISSED)\)/.exec(result.stdout);
    expect(rollback, result.stdout).not.toBeNull();
    // The budget holds on an idle machine (bench/rollout.ts measures it); a loaded test machine gets slack.
    expect(Number(rollback![1])).toBeLessThan(10);
    expect(result.stdout).toMatch(/after the rollback: 0 of \d+ users on the new checkout \(\d+ requests, 0 answered 5xx\)/);
    // The failover: the primary killed, the standby promoted, traffic through nginx to site-b.
    expect(result.stdout).toMatch(/failover orders-failover-demo-\S+: SUCCEEDED/);
    expect(result.stdout).toMatch(/RTO\s+measured [\d.]+m?s\s+objective 15m\s+met\nRPO\s+exposure [\d.]+ [KMG]?B, [\d.]+m?s \(standby alone, primary unreachable: an upper bound, step recheck-lag\)\s+objective 1m\s+met/);
    expect(result.stdout).toContain('old primary: UNREACHABLE when the fence step ran');
    expect(result.stdout).toMatch(/approve-failover\s+succeeded\s+\S+ \S+\s+\S+\s+demo-approver/);
    expect(result.stdout).toMatch(/\n\d+ acknowledged before T_d; \d+ missing on the new primary/);
    expect(result.stdout.trimEnd()).toMatch(/next: `golive dev --detach` brings back the stack, the demo's variables and its heartbeat writer; then\n {2}golive drill run runbooks\/orders-drill-demo\.yaml --fresh-backup[^\n]*\n[\s\S]*`golive dev --stop` stops it all\.$/);
  }, 300_000);

  it('keeps the variables of its runbooks in GOLIVE_HOME/demo.env, readable by its owner only', async () => {
    const file = join(home, '.golive', 'demo.env');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const names = (await readFile(file, 'utf8')).split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=')[0]);
    expect(names.sort()).toEqual([...DEMO_VARIABLES].sort());
  });

  it('`golive backup list` resolves the demo runbook from demo.env, with no stack running', async () => {
    const list = await run('backup', 'list', 'runbooks/orders-drill-demo.yaml', '--json');
    expect(list.stderr).toBe('');
    expect(JSON.parse(list.stdout)).toEqual({ backups: [expect.objectContaining({ manifest: expect.objectContaining({ backupId: expect.stringMatching(/^orders-drill-demo-backup-/) }) })] });
  });

  it('the environment wins over demo.env; a demo.env others may write, or that names golive\'s own variables, is refused', async () => {
    const file = join(home, '.golive', 'demo.env');
    const elsewhere = await golive(['backup', 'list', 'runbooks/orders-drill-demo.yaml', '--json'], { env: { ...env, DEMO_BACKUP_DIR: join(home, 'empty') }, cwd: ROOT });
    expect(JSON.parse(elsewhere.stdout)).toEqual({ backups: [] });

    const original = await readFile(file, 'utf8');
    try {
      await chmod(file, 0o666);
      const open = await run('runs');
      expect([open.code, open.stderr]).toEqual([2, `golive: cannot trust ${file}: others may write it (mode 666); golive writes it 0600: \`chmod 600\` it or delete it\n`]);
      await chmod(file, 0o600);
      await writeFile(file, `${original}DATABASE_URL=postgres://elsewhere/golive\n`);
      const own = await run('runs');
      expect([own.code, own.stderr]).toEqual([2, `golive: cannot read ${file}:6: DATABASE_URL names golive's own credentials, which demo.env never sets; remove the line\n`]);
    } finally {
      await chmod(file, 0o600);
      await writeFile(file, original);
    }
  });

  it('`golive dev --detach` brings back the stack, the demo variables and the heartbeat; the next drill measures an honest RPO', async () => {
    const detached = await run('dev', '--detach');
    expect(detached.code, detached.stderr).toBe(0);
    expect(detached.stdout).toMatch(/^golive dev is up in the background after [\d.]+s \(pid \d+; `golive dev --stop` stops it\):/);
    expect(detached.stdout).toMatch(/ {2}heartbeat {4}one row a second into golive_heartbeat on postgres:\/\/127\.0\.0\.1:\d+\/orders_demo \(DEMO_ORDERS_URL\)/);

    const drill = await run('drill', 'run', 'runbooks/orders-drill-demo.yaml', '--fresh-backup', '--json');
    expect(drill.code, drill.stdout + drill.stderr).toBe(0);
    const record = JSON.parse(drill.stdout) as DrillRecord;
    expect(record).toMatchObject({ status: 'passed', requestedBy: 'dana', measured: { rpoSource: 'heartbeat', rpoClock: 'source' } });
    // A fresh backup, then T_d: with the writer beating once a second, a few seconds at most.
    expect(record.measured.rpoMs).toBeGreaterThan(0);
    expect(record.measured.rpoMs).toBeLessThan(10_000);
    expect(record.measured.notes ?? []).toEqual([]);

    const restore = await run('run', 'runbooks/orders-restore-demo.yaml', '--detach', '--json');
    expect(restore.code, restore.stderr).toBe(0);
    const { runId } = JSON.parse(restore.stdout) as { runId: string };
    await until(async () => ((await status(runId)).status === 'waiting-approval' ? true : undefined), 60_000, 'the restore runbook never reached its gate');
    expect((await run('abort', runId)).code).toBe(0);
    await until(async () => (FINISHED.includes((await status(runId)).status) ? true : undefined), 60_000, 'the aborted restore never finished');

    const { runs } = JSON.parse((await run('runs', '--json')).stdout) as { runs: { requestedBy: string }[] };
    // The demo's failover is declared by its own incident commander, its rollout by its release manager; everything else by the user.
    expect(new Set(runs.map((entry) => entry.requestedBy))).toEqual(new Set(['dana', 'demo-commander', 'demo-release-manager']));

    const stopped = await run('dev', '--stop');
    expect([stopped.code, stopped.stdout]).toEqual([0, expect.stringMatching(/^golive dev \(pid \d+\) stopped; state kept for the next start\n$/)]);
    expect(existsSync(join(home, '.golive', 'stack.json'))).toBe(false);
  }, 300_000);
});
