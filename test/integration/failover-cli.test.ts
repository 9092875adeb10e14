import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startFailoverShell, type FailoverShell } from '../support/failover.ts';

/**
 * `golive failover` as an incident commander uses it against the stack: who may start one, the
 * gate decided by another commander, and the record the status command prints.
 */

const ROLES = 'ivan=incident-commander,irene=incident-commander,rita=release-manager';
let shell: FailoverShell;
let runbook: string;
const cli = (...args: string[]) => shell.cli(...args);

beforeAll(async () => {
  shell = await startFailoverShell('failover_cli', { worker: ROLES, shell: ROLES }, 'site-b');
  runbook = join(shell.folder, 'orders-failover.yaml');
  await writeFile(runbook, stringify({
    apiVersion: 'golive/v1',
    kind: 'Runbook',
    metadata: { name: 'orders-failover', service: 'orders' },
    spec: {
      strategy: 'warm-standby',
      objectives: { rpo: '1m', rto: '10m' },
      rtoStopsAt: 'verify-service',
      targets: { front: { type: 'http', url: shell.site.url } },
      steps: [
        { id: 'approve-failover', approval: { approvers: ['incident-commander'], timeout: '5m', message: 'Move orders to site B?' } },
        { id: 'verify-service', action: 'http.wait-healthy', target: 'front', with: { bodyContains: 'site-b' } },
      ],
    },
  }));
});

afterAll(() => shell?.close());

it('refuses anyone who is not an incident commander, and a failover without a reason', async () => {
  const refused = await cli('failover', 'start', runbook, '--reason', 'site A is down', '--as', 'rita', '--json');
  expect(refused.code).toBe(2);
  expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('rita cannot start a failover') });
  const noReason = await cli('failover', 'start', runbook, '--as', 'ivan');
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
  expect(JSON.parse((await cli('failover', 'list', '--json')).stdout)).toEqual({ failovers: [] });
});

it('starts as an incident commander, waits for another to approve, and prints the record with RTO against the objective', async () => {
  const started = await cli('failover', 'start', runbook, '--reason', 'site A is down', '--as', 'ivan', '--detach');
  expect(started.code).toBe(0);
  const runId = started.stdout.trim();
  expect((await cli('wait', runId, '--for', 'gate')).code).toBe(0);
  expect((await cli('approve', runId, '--as', 'ivan')).stderr).toContain('four-eyes');
  expect((await cli('approve', runId, '--as', 'irene', '--comment', 'site A confirmed lost')).code).toBe(0);
  expect((await cli('wait', runId, '--for', 'end')).code).toBe(0);

  const status = await cli('failover', 'status', runId, '--json');
  const record = JSON.parse(status.stdout);
  expect(record).toMatchObject({ runId, status: 'succeeded', reason: 'site A is down', requestedBy: 'ivan', drill: false, verdict: { rto: 'met' } });
  expect(record.measured.rtoMs).toBe(Date.parse(record.recoveredAt) - Date.parse(record.declaredAt));
  expect(record.steps.map((step: { id: string; actor?: string }) => [step.id, step.actor])).toEqual([['approve-failover', 'irene'], ['verify-service', 'golive']]);

  const text = (await cli('failover', 'status', runId)).stdout;
  expect(text).toContain(`failover ${runId}: SUCCEEDED`);
  expect(text).toMatch(/RTO\s+measured .*objective 10m\s+met/);
  expect(JSON.parse((await cli('failover', 'list', '--json')).stdout).failovers.map((listed: { runId: string }) => listed.runId)).toEqual([runId]);
}, 90_000);

it('answers an unknown failover with a not-found error naming the list command', async () => {
  const unknown = await cli('failover', 'status', 'orders-failover-20990101-0000-beef');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no failover orders-failover-20990101-0000-beef: list them with `golive failover list`');
});
