import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionActivities } from '../../activities/catalog.ts';
import { readPosture } from '../../runtime/posture.ts';
import { createPgProtectionStore } from '../../store/protection.ts';
import {
  CHECKLIST_ROLES, checklistOf, type ChecklistSite, httpItem, itemOf, send, signOffItem, startChecklistRun, startChecklistSite, storedRecord,
} from '../support/checklist.ts';
import { createEngineHarness, settledEvents, type EngineHarness } from '../support/engine.ts';
import { backupEntry, drillRecord, protectedRunbookText } from '../support/protection-records.ts';
import { runSql } from '../support/sql.ts';

/**
 * The go-live gate against a real worker: automatic items request a real HTTP site, and the DR
 * item reads golive's own records of backups and drills; every control goes through sendControl
 * as the CLI sends it. Roles: rita and rose release managers, adam approver, ivan incident commander.
 */
let harness: EngineHarness;
let site: ChecklistSite;
let runbooksDir: string;

const finished = (runId: string) => storedRecord(harness, runId, (record) => record.status !== 'running');

beforeAll(async () => {
  harness = await createEngineHarness('checklist');
  site = await startChecklistSite();
  runbooksDir = await mkdtemp(join(tmpdir(), 'golive-checklist-'));
  const protection = createPgProtectionStore(harness.pool);
  const actions = createActionActivities({ env: {}, pgBin: '', posture: (now) => readPosture(protection, runbooksDir, now).then((report) => report.services) });
  await harness.startWorker(actions, { roles: CHECKLIST_ROLES });
});

afterAll(async () => {
  await harness?.close();
  await site?.close();
  if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
});

describe('automatic items', () => {
  it('pass on their evidence and fail with the reason; the gate fails naming the required items that failed, and the workflow returns the record', async () => {
    const checklist = checklistOf('checks', [
      httpItem('site-up', '/healthz'),
      httpItem('site-down', '/down'),
      httpItem('wrong-status', '/healthz', { assert: 'status == 201' }),
      httpItem('optional-down', '/down', { required: false }),
    ], site.url);
    const { runId, handle } = await startChecklistRun(harness, checklist);
    const returned = await handle.result();
    expect(returned).toMatchObject({ runId, checklist: 'checks', service: 'orders', requestedBy: 'rita', status: 'failed' });
    const record = await finished(runId);
    expect(record.status).toBe('failed');
    expect(itemOf(record, 'site-up')).toMatchObject({ status: 'passed', action: 'http.check', evidence: { status: 200, ok: true } });
    expect(itemOf(record, 'site-down')).toMatchObject({ status: 'failed', reason: 'http.check site: GET /down answered 503, expected 200 [CheckFailed]' });
    expect(itemOf(record, 'wrong-status')).toMatchObject({ status: 'failed', evidence: { status: 200 } });
    expect(itemOf(record, 'wrong-status').reason).toMatch(/status == 201/);
    expect(itemOf(record, 'optional-down')).toMatchObject({ status: 'failed', required: false });
    expect(record.reason).toMatch(/^2 required items not passed or waived: site-down \(failed: http\.check site: GET \/down answered 503.*\); wrong-status \(failed: .*status == 201/);
    expect(record.summary).toEqual({ total: 4, required: 3, passed: 1, failed: 3, waived: 0, open: 0 });

    const events = await settledEvents(harness, runId);
    expect(events.map((event) => [event.action, event.stepId ?? ''])).toEqual(expect.arrayContaining([
      ['run.started', ''], ['run.preflight', ''], ['item.checked', 'site-up'], ['item.failed', 'site-down'], ['run.finished', ''],
    ]));
    expect(events.find((event) => event.stepId === 'site-up' && event.action === 'item.checked')?.detail).toMatchObject({ action: 'http.check', evidence: expect.stringContaining('status=200') });
    const run = await harness.store.getRun(runId);
    expect(run).toMatchObject({ kind: 'checklist', definitionName: 'checks', status: 'failed' });
  });

  it('an optional item that fails does not block the gate', async () => {
    const checklist = checklistOf('optional', [httpItem('site-up', '/healthz'), httpItem('nice-to-have', '/down', { required: false })], site.url);
    const { runId } = await startChecklistRun(harness, checklist);
    const record = await finished(runId);
    expect([record.status, record.reason, itemOf(record, 'nice-to-have').status]).toEqual(['passed', undefined, 'failed']);
  });

  it('run four at a time', async () => {
    const items = Array.from({ length: 7 }, (_, index) => httpItem(`slow-${index + 1}`, '/slow'));
    const { runId } = await startChecklistRun(harness, checklistOf('parallel', items, site.url));
    const record = await finished(runId);
    expect([record.status, record.summary.passed]).toEqual(['passed', 7]);
    expect(site.mostAtOnce()).toBe(4);
  });

  it("fails the DR item with the reason when the service's last restore drill failed", async () => {
    await writeFile(join(runbooksDir, 'ledger.yaml'), protectedRunbookText({ name: 'ledger-backup-restore', service: 'ledger' }));
    const protection = createPgProtectionStore(harness.pool);
    await protection.recorded(backupEntry('ledger', 'ledger-1', Date.now() - 3_600_000));
    await protection.recordDrill(drillRecord({ runId: 'ledger-drill-1', service: 'ledger', finishedAt: Date.now() - 60_000, status: 'failed', reason: 'measured RPO 26h 0m exceeds objective 24h' }));
    const checklist = checklistOf('dr-gate', [{
      id: 'restore-tested', title: 'A restore drill passed', owner: 'sre', verification: 'automatic',
      check: { id: 'restore-tested', action: 'golive.dr-evidence', with: { service: '{{run.service}}' } },
    }]);
    const { runId } = await startChecklistRun(harness, checklist, { service: 'ledger' });
    const item = itemOf(await finished(runId), 'restore-tested');
    expect(item).toMatchObject({ status: 'failed', evidence: { ok: false, service: 'ledger', lastDrill: { runId: 'ledger-drill-1', status: 'failed' } } });
    expect(item.reason).toContain('the last restore drill (ledger-drill-1) failed: measured RPO 26h 0m exceeds objective 24h');
  });
});

describe('sign-offs', () => {
  it('need someone other than the requester holding the item\'s role, once; a second decision is refused with who and when', async () => {
    const checklist = checklistOf('signoffs', { technical: [signOffItem('load-test', ['approver'])], strategy: [signOffItem('rollback-plan', ['release-manager'])] });
    const { runId } = await startChecklistRun(harness, checklist);
    await storedRecord(harness, runId, (record) => record.items.every((item) => item.status === 'waiting-sign-off'));

    expect(await send(harness, runId, 'approve', { actor: 'rita', stepId: 'load-test' })).toEqual({
      refused: 'ControlForbidden', message: `four-eyes: rita requested checklist run ${runId} and cannot sign off its item load-test; ask someone holding approver`,
    });
    expect(await send(harness, runId, 'approve', { actor: 'ivan', stepId: 'load-test' })).toEqual({
      refused: 'ControlForbidden', message: `ivan cannot sign off item load-test of checklist run ${runId}: it needs approver and ivan holds incident-commander`,
    });
    expect(await send(harness, runId, 'approve', { actor: 'adam' })).toEqual({
      refused: 'ControlConflict', message: `checklist run ${runId} has 2 sign-offs open (load-test, rollback-plan); name one: golive approve ${runId} --step ITEM`,
    });
    expect(await send(harness, runId, 'reject', { actor: 'adam', stepId: 'load-test' })).toMatchObject({ refused: 'UserError', message: expect.stringMatching(/^a rejection needs a reason/) });
    expect(await send(harness, runId, 'approve', { actor: 'adam', stepId: 'load-test', comment: 'report attached' })).toBe(`signed off item load-test of checklist run ${runId}`);
    const again = await send(harness, runId, 'approve', { actor: 'rose', stepId: 'load-test' });
    expect(again).toMatchObject({ refused: 'ControlConflict', message: expect.stringMatching(new RegExp(`^item load-test of checklist run ${runId} was already signed off by adam at \\S+ \\(report attached\\); nothing changed$`)) });

    // The one sign-off left needs no --step.
    expect(await send(harness, runId, 'approve', { actor: 'rose' })).toBe(`signed off item rollback-plan of checklist run ${runId}`);
    const record = await finished(runId);
    expect(record.status).toBe('passed');
    expect(itemOf(record, 'load-test')).toMatchObject({ status: 'passed', signedOff: { actor: 'adam', channel: 'cli', comment: 'report attached' } });
    const { rows } = await runSql<{ step_id: string; decision: string; actor: string }>(harness.databaseUrl, 'SELECT step_id, decision, actor FROM approvals WHERE run_id = $1 ORDER BY step_id', [runId]);
    expect(rows).toEqual([{ step_id: 'load-test', decision: 'approved', actor: 'adam' }, { step_id: 'rollback-plan', decision: 'approved', actor: 'rose' }]);
    expect(await send(harness, runId, 'approve', { actor: 'adam', stepId: 'load-test' })).toMatchObject({ refused: 'ControlConflict' });
  });

  it('a rejection fails the item with its reason', async () => {
    const { runId } = await startChecklistRun(harness, checklistOf('rejected', [signOffItem('war-room', ['release-manager'])]));
    await storedRecord(harness, runId, (record) => itemOf(record, 'war-room').status === 'waiting-sign-off');
    expect(await send(harness, runId, 'reject', { actor: 'rose', comment: 'no bridge booked' })).toBe(`rejected item war-room of checklist run ${runId}`);
    const record = await finished(runId);
    expect([record.status, itemOf(record, 'war-room').reason, itemOf(record, 'war-room').rejected?.actor]).toEqual(['failed', 'rejected by rose: no bridge booked', 'rose']);
  });

  it('close at the sign-off deadline: open items fail, and a late sign-off is refused', async () => {
    const { runId } = await startChecklistRun(harness, checklistOf('deadline', [signOffItem('faq', ['approver'])]), { signOffTimeout: '3s' });
    const record = await finished(runId);
    expect(record.status).toBe('failed');
    expect(itemOf(record, 'faq')).toMatchObject({ status: 'failed', reason: `no sign-off by ${record.deadline}` });
    expect(record.reason).toBe(`1 required item not passed or waived: faq (failed: no sign-off by ${record.deadline})`);
    expect(await send(harness, runId, 'approve', { actor: 'adam', stepId: 'faq' })).toMatchObject({ refused: 'ControlConflict' });
  });

  it('fail pre-flight when nobody but the requester could give one', async () => {
    const { runId } = await startChecklistRun(harness, checklistOf('lonely', [signOffItem('on-call', ['incident-commander'])]), { requestedBy: 'ivan' });
    const record = await finished(runId);
    expect(record.status).toBe('failed');
    expect(record.reason).toMatch(/^pre-flight failed before any item was checked: gate on-call needs incident-commander and nobody but ivan holds it/);
  });
});

describe('waivers', () => {
  it('are refused from the requester and from anyone but a release manager, need a reason, and let a failed item through', async () => {
    const checklist = checklistOf('waivers', [httpItem('site-down', '/down'), signOffItem('war-room', ['release-manager'])], site.url);
    const { runId } = await startChecklistRun(harness, checklist);
    await storedRecord(harness, runId, (record) => itemOf(record, 'site-down').status === 'failed');

    expect(await send(harness, runId, 'waive', { actor: 'rita', stepId: 'site-down', comment: 'known' })).toEqual({
      refused: 'ControlForbidden', message: `rita requested checklist run ${runId} and cannot waive its item site-down: a different release manager must waive it`,
    });
    expect(await send(harness, runId, 'waive', { actor: 'adam', stepId: 'site-down', comment: 'known' })).toEqual({
      refused: 'ControlForbidden', message: `adam cannot waive item site-down of checklist run ${runId}: only a release-manager may (adam holds approver)`,
    });
    expect(await send(harness, runId, 'waive', { actor: 'rose', stepId: 'site-down' })).toMatchObject({ refused: 'UserError', message: expect.stringMatching(/^a waiver needs a reason/) });
    expect(await send(harness, runId, 'waive', { actor: 'rose', stepId: 'site-down', comment: 'status page moves next week' }))
      .toBe(`waived item site-down of checklist run ${runId}: status page moves next week`);
    expect(await send(harness, runId, 'waive', { actor: 'rose', stepId: 'site-down', comment: 'again' })).toMatchObject({ refused: 'ControlConflict', message: expect.stringContaining('was already waived by rose') });
    expect(await send(harness, runId, 'skip', { actor: 'rose', stepId: 'site-down' })).toMatchObject({ refused: 'ControlConflict', message: expect.stringContaining(`golive checklist waive ${runId} ITEM --reason TEXT`) });

    expect(await send(harness, runId, 'approve', { actor: 'rose', stepId: 'war-room' })).toBe(`signed off item war-room of checklist run ${runId}`);
    const record = await finished(runId);
    expect(record.status).toBe('passed');
    expect(itemOf(record, 'site-down')).toMatchObject({ status: 'waived', reason: expect.stringContaining('answered 503'), waiver: { actor: 'rose', channel: 'cli', comment: 'status page moves next week' } });
    const events = await settledEvents(harness, runId);
    expect(events.find((event) => event.action === 'item.waived')).toMatchObject({
      actor: 'rose', channel: 'cli', stepId: 'site-down', detail: { reason: 'status page moves next week', was: 'failed' },
    });
  });
});

describe('abort and other controls', () => {
  it('abort by the requester ends the run aborted, open items failed; pause is refused with what to do instead', async () => {
    const { runId } = await startChecklistRun(harness, checklistOf('aborted', [signOffItem('kpis', ['approver'])]));
    await storedRecord(harness, runId, (record) => itemOf(record, 'kpis').status === 'waiting-sign-off');
    expect(await send(harness, runId, 'pause', { actor: 'rita' })).toMatchObject({ refused: 'ControlConflict', message: expect.stringMatching(/cannot be paused: its items are checked and signed off in any order; abort it/) });
    expect(await send(harness, runId, 'abort', { actor: 'adam' })).toMatchObject({ refused: 'ControlForbidden', message: expect.stringContaining('only its requester (rita) or a release-manager may') });
    expect(await send(harness, runId, 'abort', { actor: 'rita', comment: 'wrong service' })).toMatch(/aborted/);
    const record = await finished(runId);
    expect([record.status, record.reason]).toEqual(['aborted', 'aborted by rita: wrong service']);
    expect(itemOf(record, 'kpis')).toMatchObject({ status: 'failed', reason: 'not decided: the run was aborted by rita: wrong service' });
    expect((await harness.store.getRun(runId))?.status).toBe('aborted');
  });
});
