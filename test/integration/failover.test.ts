import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseRoles } from '../../definitions/roles.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import { testActivities } from '../support/actions.ts';
import { createEngineHarness, runbook, settledEvents, type EngineHarness } from '../support/engine.ts';
import { caughtUp, failoverSteps, finalRecord, pairTargets, startFailover, takesWrites, UNFENCE } from '../support/failover.ts';
import { startNginx, type NginxFixture } from '../support/nginx.ts';
import { startReplicaPair, type ReplicaPair } from '../support/replica.ts';
import { runSql } from '../support/sql.ts';

/**
 * Failovers on a real primary and streaming standby, with a real nginx in front of the two
 * sites: the actions are golive's own, only the gate is decided by the test.
 */

const ROLES = createRoleDirectory(parseRoles('ivan=incident-commander,irene=incident-commander,rita=release-manager'));
let harness: EngineHarness;
let pgBin: string;
let nginxBin: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const toolchain = loadToolchain({ pgBin: process.env.GOLIVE_PG_BIN });
  pgBin = requireTool(toolchain, 'pgBin');
  nginxBin = requireTool(toolchain, 'nginx');
  harness = await createEngineHarness('failover');
  await harness.startWorker(testActivities({}, { nginxBin }), { roles: ROLES });
});

afterAll(async () => {
  await harness?.close();
  for (const cleanup of cleanups) await cleanup();
});

async function pairWithOrders(rows: number): Promise<ReplicaPair> {
  const pair = await startReplicaPair(pgBin);
  cleanups.push(() => pair.stop());
  await runSql(pair.primary.url, 'CREATE TABLE orders (id serial PRIMARY KEY, note text NOT NULL)');
  await runSql(pair.primary.url, 'INSERT INTO orders (note) SELECT $1 || n FROM generate_series(1, $2) AS n', ['order-', rows]);
  await caughtUp(pair);
  return pair;
}

async function startedNginx(): Promise<NginxFixture> {
  const nginx = await startNginx(nginxBin);
  cleanups.push(() => nginx.stop());
  return nginx;
}

const count = async (url: string) => (await runSql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM orders')).rows[0]!.n;

const approveGate = async (runId: string) => {
  await waitForState(harness.client, runId, (state) => state.gate !== undefined);
  await sendControl(harness, runId, 'approve', { actor: 'irene', channel: 'cli', comment: 'primary region confirmed lost' });
};

it('with the primary killed, the failover promotes the standby, moves traffic and stops the RTO clock at the first healthy answer through nginx', async () => {
  const pair = await pairWithOrders(500);
  const nginx = await startedNginx();
  const committed = await count(pair.primary.url);
  await pair.crashPrimary();
  const front = { type: 'http', url: nginx.url };
  const handle = await startFailover(harness, {
    runbook: runbook({
      objectives: { rpo: '1m', rto: '5m' },
      rtoStopsAt: 'verify-service',
      targets: { ...pairTargets(pair), edge: nginx.target, front },
      steps: [
        ...failoverSteps(),
        { id: 'switch-traffic', action: 'nginx.switch-upstream', target: 'edge', with: { upstream: 'app', servers: [nginx.backends.green.address], confirmVia: 'front', confirm: { consecutive: 3 } } },
        { id: 'verify-service', action: 'http.wait-healthy', target: 'front', with: { bodyContains: 'green', within: '30s' } },
      ],
      rollback: [UNFENCE],
    }),
    requestedBy: 'ivan',
    reason: 'primary region lost',
  });
  await approveGate(handle.workflowId);
  const record = await handle.result();

  expect(record).toMatchObject({ status: 'succeeded', reason: 'primary region lost', fenced: 'unreachable', promoted: { target: 'db-standby', timeline: 2 } });
  expect(record.measured.exposure).toMatchObject({ source: 'standby', stepId: 'recheck-lag' });
  expect(record.verdict).toEqual({ rto: 'met', rpo: 'met' });
  expect(record.measured.rtoMs).toBe(Date.parse(record.recoveredAt!) - Date.parse(record.declaredAt));
  expect(record.steps.find((step) => step.id === 'approve-failover')).toMatchObject({ status: 'succeeded', actor: 'irene' });
  expect(await count(pair.standby.url)).toBe(committed);
  expect(await takesWrites(pair.standby.url)).toBe(true);
  expect(await fetch(nginx.url).then((response) => response.text())).toBe('green');
}, 90_000);

it('a standby lagging beyond the RPO makes pre-flight refuse with both numbers; --force goes on and the reason is audited', async () => {
  const pair = await pairWithOrders(10);
  await runSql(pair.standby.url, 'SELECT pg_wal_replay_pause()');
  await runSql(pair.primary.url, "INSERT INTO orders (note) SELECT 'late-' || n FROM generate_series(1, 100) AS n");
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const input = {
    runbook: runbook({
      objectives: { rpo: '1s', rto: '5m' },
      targets: pairTargets(pair),
      steps: [failoverSteps()[0]!, { id: 'after-check', action: 'noop' }],
    }),
    requestedBy: 'ivan',
    reason: 'planned move',
  };

  const refused = await finalRecord(await startFailover(harness, input));
  expect(refused.status).toBe('failed');
  expect(refused.outcome).toMatch(/step check-lag failed: exposure \d.*\(\d+ bytes, measured comparing the primary with the standby\) exceeds the RPO objective 1s/);
  expect(refused.outcome).toContain('--force');
  expect(refused.steps.find((step) => step.id === 'after-check')?.status).toBe('pending');

  const forced = await startFailover(harness, { ...input, force: 'orders are frozen for the move; the late rows are replayed from the queue' });
  const record = await forced.result();
  expect(record.status).toBe('succeeded');
  expect(record.forced).toEqual({ reason: 'orders are frozen for the move; the late rows are replayed from the queue', by: 'ivan' });
  const events = await settledEvents(harness, forced.workflowId);
  const audit = events.find((event) => event.action === 'exposure.forced');
  expect(audit).toMatchObject({ actor: 'ivan', stepId: 'check-lag', detail: { reason: record.forced!.reason, rpo: '1s' } });
  await runSql(pair.standby.url, 'SELECT pg_wal_replay_resume()');
}, 90_000);

it('lag grown while the gate waited is caught by the re-check, and the fence is undone: nothing was promoted', async () => {
  const pair = await pairWithOrders(10);
  const handle = await startFailover(harness, {
    runbook: runbook({
      objectives: { rpo: '1s', rto: '5m' },
      targets: pairTargets(pair),
      steps: [...failoverSteps(), { id: 'after-promote', action: 'noop' }],
      rollback: [UNFENCE],
    }),
    requestedBy: 'ivan',
    reason: 'region degraded',
  });
  await waitForState(harness.client, handle.workflowId, (state) => state.gate !== undefined);
  await runSql(pair.standby.url, 'SELECT pg_wal_replay_pause()');
  await runSql(pair.primary.url, "INSERT INTO orders (note) SELECT 'during-gate-' || n FROM generate_series(1, 100) AS n");
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await approveGate(handle.workflowId);
  const record = await finalRecord(handle);

  expect(record.status).toBe('failed');
  expect(record.outcome).toMatch(/step recheck-lag failed: exposure .* exceeds the RPO objective 1s/);
  expect(record.measured.checks.map((check) => check.stepId)).toEqual(['check-lag']);
  expect(record.steps.map((step) => [step.id, step.status])).toEqual([
    ['check-lag', 'succeeded'], ['approve-failover', 'succeeded'], ['fence-old-primary', 'succeeded'], ['recheck-lag', 'failed'],
    ['promote-standby', 'pending'], ['after-promote', 'pending'], ['unfence-old-primary', 'succeeded'],
  ]);
  expect(record.promoted).toBeUndefined();
  expect(await takesWrites(pair.primary.url)).toBe(true);
  expect((await runSql<{ recovery: boolean }>(pair.standby.url, 'SELECT pg_is_in_recovery() AS recovery')).rows[0]!.recovery).toBe(true);
  await runSql(pair.standby.url, 'SELECT pg_wal_replay_resume()');
}, 90_000);

it('an abort after promotion rolls nothing back and says so: the old primary stays fenced, the new one takes writes', async () => {
  const pair = await pairWithOrders(10);
  const handle = await startFailover(harness, {
    runbook: runbook({
      targets: pairTargets(pair),
      steps: [...failoverSteps({ gate: false }), { id: 'hold', pause: { reason: 'check the new primary' } }, { id: 'after-hold', action: 'noop' }],
      rollback: [UNFENCE],
    }),
    requestedBy: 'ivan',
    reason: 'planned move',
  });
  await waitForState(harness.client, handle.workflowId, (state) => state.currentStep === 'hold');
  await sendControl(harness, handle.workflowId, 'abort', { actor: 'irene', channel: 'cli', comment: 'the app cannot reach the new primary' });
  const record = await finalRecord(handle);

  expect(record.status).toBe('aborted');
  expect(record.outcome).toContain('nothing was rolled back because promote-standby may have applied an irreversible change');
  expect(record.outcome).toContain('Not run: after-hold');
  expect(record).toMatchObject({ fenced: 'fenced', promoted: { target: 'db-standby', timeline: 2 } });
  expect(record.steps.find((step) => step.id === 'unfence-old-primary')).toBeUndefined();
  const events = await settledEvents(harness, handle.workflowId);
  expect(events.find((event) => event.action === 'rollback.withheld')?.detail).toMatchObject({ after: 'promote-standby', withheld: ['unfence-old-primary'] });
  expect(await takesWrites(pair.primary.url)).toMatch(/read-only transaction/);
  expect(await takesWrites(pair.standby.url)).toBe(true);
}, 90_000);

it('someone who is not an incident commander cannot start a failover: it fails before any step', async () => {
  const pair = await pairWithOrders(1);
  const record = await finalRecord(await startFailover(harness, {
    runbook: runbook({ targets: pairTargets(pair), steps: failoverSteps({ gate: false }), rollback: [UNFENCE] }),
    requestedBy: 'rita',
    reason: 'I think the region is down',
  }));
  expect(record.status).toBe('failed');
  expect(record.outcome).toContain('rita cannot start this run: it needs the incident-commander role, and rita holds release-manager');
  expect(record.steps.every((step) => step.status === 'pending')).toBe(true);
  expect(await takesWrites(pair.primary.url)).toBe(true);
}, 60_000);
