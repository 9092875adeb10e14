import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChecklistRecord } from '../../workflows/definitions.ts';
import { itemOf, startChecklistStack, storedRecord, type ChecklistStack } from '../support/checklist.ts';
import { golive } from '../support/cli.ts';
import { shellEnv } from '../support/engine.ts';

/**
 * `golive checklist` as release managers use it: on the stack directly (a trusted operator, --as),
 * and through the API with GOLIVE_URL and a token. Roles: rita and rose release managers, adam approver.
 */
let stack: ChecklistStack;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => golive(args, { env });
const remote = (user: 'rita' | 'rose', ...args: string[]) => golive(args, { env: { ...env, GOLIVE_URL: stack.server.url, GOLIVE_TOKEN: stack.tokens[user] } });

beforeAll(async () => {
  stack = await startChecklistStack('checklist_cli');
  env = shellEnv(stack.harness, stack.folder, { GOLIVE_CHECKLISTS_DIR: stack.folder });
});

afterAll(() => stack?.close());

describe('golive checklist on the stack', () => {
  it('runs a checklist file, shows every item by phase, takes a waiver and sign-offs, and lists the run', async () => {
    const started = await cli('checklist', 'run', join(stack.folder, 'launch.yaml'), '--service', 'orders', '--as', 'rita', '--json');
    expect(started.code).toBe(0);
    const first = JSON.parse(started.stdout) as ChecklistRecord;
    expect(first).toMatchObject({ checklist: 'launch', service: 'orders', requestedBy: 'rita', status: 'running' });
    const { runId } = first;
    expect(first.items.map((item) => item.id)).toEqual(['site-up', 'status-page', 'war-room', 'faq']);
    await storedRecord(stack.harness, runId, (record) => itemOf(record, 'status-page').status === 'failed');

    const status = await cli('checklist', 'status', runId);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`checklist run ${runId}: RUNNING  (checklist launch, service orders, requested by rita)`);
    expect(status.stdout).toMatch(/technical:\nITEM\s+STATUS\s+VERIFIED BY\s+REQUIRED\s+WHO\s+DETAIL\nsite-up\s+passed\s+automatic\s+yes\s+ok=true status=200/);
    expect(status.stdout).toMatch(/status-page\s+failed\s+automatic\s+yes\s+http\.check site: GET \/down answered 503, expected 200/);
    expect(status.stdout).toMatch(/process:\n.*\nwar-room\s+waiting-sign-off\s+sign-off\s+yes\s+needs release-manager\nfaq\s+waiting-sign-off\s+sign-off\s+optional\s+needs approver/);
    expect(status.stdout).toContain(`waive:     golive checklist waive ${runId} ITEM --reason "why"`);

    const byRequester = await cli('checklist', 'waive', runId, 'status-page', '--reason', 'moves next week', '--as', 'rita');
    expect([byRequester.code, byRequester.stderr.trim()]).toEqual([2, `golive: rita requested checklist run ${runId} and cannot waive its item status-page: a different release manager must waive it`]);
    const noReason = await cli('checklist', 'waive', runId, 'status-page', '--as', 'rose');
    expect([noReason.code, noReason.stderr]).toEqual([2, expect.stringContaining("required option '--reason <text>' not specified")]);
    const waived = await cli('checklist', 'waive', runId, 'status-page', '--reason', 'moves next week', '--as', 'rose');
    expect([waived.code, waived.stdout.trim()]).toEqual([0, `waived item status-page of checklist run ${runId}: moves next week`]);
    expect((await cli('checklist', 'sign-off', runId, 'war-room', '--comment', 'bridge booked', '--as', 'rose')).code).toBe(0);
    const approved = await cli('approve', runId, '--step', 'faq', '--as', 'adam');
    expect([approved.code, approved.stdout.trim()]).toEqual([0, `signed off item faq of checklist run ${runId}`]);

    const record = await storedRecord(stack.harness, runId, (stored) => stored.status !== 'running');
    expect(record.status).toBe('passed');
    const final = await cli('checklist', 'status', runId);
    expect(final.stdout).toContain('gate PASSED: every required item passed or was waived');
    expect(final.stdout).toMatch(/status-page\s+waived\s+automatic\s+yes\s+rose\s+waived: moves next week \(it failed: http\.check site/);
    expect(final.stdout).toMatch(/war-room\s+passed\s+sign-off\s+yes\s+rose\s+bridge booked/);
    expect(JSON.parse((await cli('checklist', 'status', runId, '--json')).stdout)).toMatchObject({ runId, status: 'passed' });

    const listed = JSON.parse((await cli('checklist', 'list', '--service', 'orders', '--json')).stdout) as { runs: ChecklistRecord[] };
    expect(listed.runs.map((run) => run.runId)).toContain(runId);
    expect((await cli('checklist', 'list', '--service', 'orders')).stdout).toMatch(new RegExp(`${runId}\\s+orders\\s+launch\\s+passed\\s+3/4`));
    expect((await cli('status', runId)).stdout).toContain(`run ${runId}  (runbook launch, service orders, go-live checklist)`);
  }, 120_000);

  it('runs a checklist of the folder by name with --wait, and exits 1 when the gate does not pass by the deadline', async () => {
    const result = await cli('checklist', 'run', 'launch', '--service', 'orders', '--sign-off-timeout', '3s', '--wait', '--as', 'rita');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/started checklist launch as rita; run id orders-launch-/);
    expect(result.stdout).toMatch(/waiting for the gate \(Ctrl-C stops waiting; the run goes on\)\n\d\d:\d\d:\d\dZ  war-room  failed: no sign-off by /);
    expect(result.stdout).toMatch(/gate DID NOT PASS: 2 required items not passed or waived: status-page \(failed: .*\); war-room \(failed: no sign-off by /);
  }, 60_000);

  it('says what is wrong: no service, an unknown checklist, an unknown run', async () => {
    const noService = await cli('checklist', 'run', 'launch', '--as', 'rita');
    expect([noService.code, noService.stderr.trim()]).toEqual([2, 'golive: checklist launch names no service: say which service goes live (--service NAME, or service in the API)']);
    const unknown = await cli('checklist', 'run', 'no-such', '--service', 'orders');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([2, `golive: no checklist named no-such in ${stack.folder} (known: launch)`]);
    const noRun = await cli('checklist', 'status', 'orders-launch-20990101-0000-beef');
    expect([noRun.code, noRun.stderr.trim()]).toEqual([2, 'golive: no checklist run orders-launch-20990101-0000-beef: list them with `golive checklist list`']);
  });
});

describe('golive checklist through the API', () => {
  it('starts the server\'s checklist as the token\'s user and reads its record', async () => {
    const started = await remote('rose', 'checklist', 'run', 'launch', '--service', 'orders', '--json');
    expect(started.code).toBe(0);
    const { runId } = JSON.parse(started.stdout) as ChecklistRecord;
    const status = await remote('rita', 'checklist', 'status', runId, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ runId, requestedBy: 'rose', checklist: 'launch' });
    const refused = await remote('rose', 'checklist', 'waive', runId, 'status-page', '--reason', 'mine');
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('a different release manager must waive it')]);
    expect((await remote('rita', 'checklist', 'abort', runId, '--comment', 'test over')).code).toBe(0);
    expect((await storedRecord(stack.harness, runId, (record) => record.status !== 'running')).status).toBe('aborted');
  }, 60_000);
});
