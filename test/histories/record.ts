/**
 * Records workflow histories for the replay test (test/integration/replay.test.ts): runs the
 * runbook workflow through its main paths on a throwaway Temporal dev server and writes each
 * history as JSON beside this file. Re-record only on purpose: after a deliberate, patched change,
 * or name the histories to add and leave the others as older code recorded them.
 *   npx tsx test/histories/record.ts [NAME...]
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { sendControl, waitForState } from '../../runtime/runs.ts';
import { WORKFLOWS_PATH } from '../../runtime/workflows-path.ts';
import { startTemporalDevServer } from '../../stack/temporal.ts';
import { loadToolchain, requireTool } from '../../stack/toolchain.ts';
import type { RunStore } from '../../store/runs.ts';
import { createRoleDirectory } from '../../runtime/roles.ts';
import { BACKUP_WORKFLOW, DRILL_WORKFLOW, ROLLOUT_WORKFLOW, RUNBOOK_WORKFLOW, type DrillRunInput, type RolloutRunInput, type RunbookRunInput } from '../../workflows/definitions.ts';
import { fakeActions, runbook, engineActivities } from '../support/engine.ts';
import { ROLLOUT_ROLES, rolloutPlan } from '../support/rollout.ts';

const taskQueue = 'record-histories';
const noop = (id: string, extra: Record<string, unknown> = {}) => ({ id, action: 'noop', ...extra });
const gate = { id: 'approve', approval: { approvers: ['incident-commander'], timeout: '1h' } };
const unusedStore: RunStore = {
  project: async () => {},
  listRuns: async () => [],
  services: async () => [],
  countByStatus: async () => ({}),
  getRun: async () => undefined,
  events: async () => [],
};

/** Keeps the recording machine out of the file: no stack traces (file paths), no host names. */
function scrub(key: string, value: unknown): unknown {
  if (key === 'stackTrace') return '';
  if (key === 'identity') return 'history-recorder';
  if (typeof value === 'string' && /^\d+@/.test(value)) return 'history-recorder-sticky-queue';
  return value;
}

Runtime.install({ logger: new DefaultLogger('ERROR') });
const server = await startTemporalDevServer({ cli: requireTool(loadToolchain(), 'temporal'), uiPort: null });
const client = new Client({ connection: await Connection.connect({ address: server.address }) });
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address: server.address }),
  taskQueue,
  workflowsPath: WORKFLOWS_PATH,
  activities: engineActivities(unusedStore, {
    ...fakeActions([], new Set(['fails'])),
    // A restored copy whose newest commit is old: the drill misses its RPO objective.
    'drill.verify': async () => ({ newestCommit: '2026-01-01T00:00:00.000Z', rpoSource: 'snapshot' }),
    'drill.health': async () => ({ passedAt: new Date().toISOString(), attempts: 1 }),
    // A flag store that takes every percentage: what the rollout's record and its guards read.
    'flag.set-rollout': async (request) => ({ provider: 'builtin', key: request.with.key, environment: 'production', from: null, to: request.with.percent, changed: true }),
  }, {
    env: { SOURCE_URL: 'postgres://source', SERVER_URL: 'postgres://server' },
    roles: createRoleDirectory(ROLLOUT_ROLES),
    // Every guard reads an error share far above its threshold: the rollout trips at its first phase.
    overrides: { evaluateGuards: async ({ guards }) => guards.map((guard) => ({ name: guard.name, value: 0.5, at: new Date().toISOString() })) },
  }),
});
const wanted = process.argv.slice(2);

/** A runbook with backup and drill policies, for the backup and drill workflows. */
const protectedRunbook = runbook({
  targets: {
    source: { type: 'postgres', url: '${SOURCE_URL}' },
    server: { type: 'postgres', url: '${SERVER_URL}' },
    backups: { type: 'filesystem', path: '/var/backups/golive' },
  },
  backup: { source: 'source', store: 'backups', retention: { keep: 3 } },
  drill: { server: 'server', smoke: [{ id: 'orders', sql: 'SELECT 1' }] },
  steps: [noop('unused')],
});

async function record(name: string, spec: Record<string, unknown>, drive: (runId: string) => Promise<void>): Promise<void> {
  const input: RunbookRunInput = { runbook: runbook(spec), requestedBy: 'rita', channel: 'cli' };
  await recordWorkflow(name, RUNBOOK_WORKFLOW, input, drive);
}

async function recordWorkflow(name: string, type: string, input: RunbookRunInput | RolloutRunInput, drive: (runId: string) => Promise<void> = async () => {}): Promise<void> {
  if (wanted.length > 0 && !wanted.includes(name)) return;
  const handle = await client.workflow.start(type, { workflowId: `history-${name}`, taskQueue, args: [input] });
  await drive(handle.workflowId);
  await handle.result().catch(() => undefined);
  const history = JSON.parse(historyToJSON(await handle.fetchHistory()), scrub) as unknown;
  await writeFile(fileURLToPath(new URL(`./${name}.json`, import.meta.url)), `${JSON.stringify(history, null, 1)}\n`);
  console.log(`recorded ${name}`);
}

const stack = { client, store: unusedStore, taskQueue };
await worker.runUntil(async () => {
  await record('approved-run', { steps: [noop('before'), gate, { id: 'hold', pause: { duration: '1s' } }, noop('after')] }, async (runId) => {
    await waitForState(client, runId, (state) => state.status === 'waiting-approval');
    await sendControl(stack, runId, 'approve', { actor: 'ivan', channel: 'cli', comment: 'go' });
  });
  await record('failed-run-rolled-back', {
    steps: [noop('first'), noop('second'), noop('fails')],
    rollback: [noop('undo-first', { compensates: 'first' }), noop('undo-second', { compensates: 'second' })],
  }, async () => {});
  await record('aborted-run', { steps: [noop('one'), { id: 'wait', pause: {} }, noop('two')], rollback: [noop('undo-one', { compensates: 'one' })] }, async (runId) => {
    await waitForState(client, runId, (state) => state.currentStep === 'wait');
    await sendControl(stack, runId, 'pause', { actor: 'ivan', channel: 'cli' });
    await sendControl(stack, runId, 'skip', { actor: 'ivan', channel: 'cli', stepId: 'wait' });
    await waitForState(client, runId, (state) => state.status === 'paused');
    await sendControl(stack, runId, 'abort', { actor: 'ivan', channel: 'cli', comment: 'recorded abort' });
  });
  // A run with a Slack message: its history holds the syncRunMessage activities behind the run-message patch.
  const slackRun: RunbookRunInput = { runbook: runbook({ steps: [noop('before'), gate, noop('after')] }), requestedBy: 'rita', channel: 'slack', slackChannel: 'C0HISTORY1' };
  await recordWorkflow('slack-approved-run', RUNBOOK_WORKFLOW, slackRun, async (runId) => {
    await waitForState(client, runId, (state) => state.status === 'waiting-approval');
    await sendControl(stack, runId, 'approve', { actor: 'ivan', channel: 'slack', comment: 'approved from Slack' });
  });
  const protection: DrillRunInput = { runbook: protectedRunbook, requestedBy: 'rita', channel: 'cli', trigger: 'manual' };
  await recordWorkflow('backup-run', BACKUP_WORKFLOW, protection);
  await recordWorkflow('drill-missed-rpo', DRILL_WORKFLOW, protection);
  const guarded = rolloutPlan({
    targets: { metrics: { type: 'prometheus', url: 'http://prometheus:9090' } },
    phases: [{ percent: 10, bake: '1m' }, { percent: 100, bake: '1s', approval: { approvers: ['release-manager'], timeout: '1h' } }],
    guards: [{ name: 'error-rate', target: 'metrics', query: 'max(errors)', max: 0.05, interval: '1s', failureLimit: 2 }],
  }, 'checkout-v2');
  await recordWorkflow('rollout-guard-tripped', ROLLOUT_WORKFLOW, { plan: guarded, requestedBy: 'rita', channel: 'cli' });
  const approved = rolloutPlan({ phases: [{ percent: 10, bake: '1h' }, { percent: 100, bake: '1s', approval: { approvers: ['release-manager'], timeout: '1h' } }] }, 'checkout-v2');
  await recordWorkflow('rollout-promoted-approved', ROLLOUT_WORKFLOW, { plan: approved, requestedBy: 'rita', channel: 'cli' }, async (runId) => {
    await waitForState(client, runId, (state) => state.currentStep === 'bake-10');
    await sendControl(stack, runId, 'promote', { actor: 'rita', channel: 'cli', comment: 'metrics look fine' });
    await waitForState(client, runId, (state) => state.status === 'waiting-approval');
    await sendControl(stack, runId, 'approve', { actor: 'rob', channel: 'cli', comment: 'go' });
  });
});
await client.connection.close();
await server.stop();
process.exit(0);
