import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DefinitionError,
  findDefinitionFiles,
  formatProblem,
  loadDefinition,
  loadRunbook,
  parseDefinition,
  warningRules,
} from '../../definitions/load.ts';
import { STRATEGIES } from '../../definitions/schema.ts';
import { protectedRunbookText } from '../support/protection-records.ts';
import { error, runbookWith } from '../support/runbook-text.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('warnings', () => {
  it('warns when objectives are tighter than the strategy achieves, and the file stays valid', () => {
    const result = parseDefinition(runbookWith({ 7: '  strategy: backup-restore' }), 'orders.yaml');
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      'orders.yaml:8:21: spec.objectives.rpo: warning: rpo 1m is tighter than backup-restore usually achieves (RPO hours to days, RTO days); consider warm-standby',
    ]);
  });

  it('warns when retention keeps a single backup', () => {
    const text = protectedRunbookText({ name: 'orders-backup', service: 'orders', rto: '1d' }).replace('  backup: {source: db, store: store}', '  backup: {source: db, store: store, retention: {keep: 1}}');
    const result = parseDefinition(text, 'orders.yaml');
    expect(result.ok && result.warnings.map(formatProblem)).toEqual([
      'orders.yaml:11:56: spec.backup.retention.keep: warning: keep 1 leaves no older backup when the newest turns out corrupt; keep at least 2',
    ]);
  });

  it('runs rules added to the hook on valid definitions only', () => {
    const rule = () => [{ path: ['metadata', 'service'], message: 'service has no owner on call' }];
    warningRules.push(rule);
    try {
      const valid = parseDefinition(runbookWith({}), 'orders.yaml');
      expect(valid.ok && valid.warnings).toEqual([
        { file: 'orders.yaml', line: 5, col: 12, path: 'metadata.service', message: 'service has no owner on call', severity: 'warning' },
      ]);
      const invalid = parseDefinition(runbookWith({ 14: '      action: http.chek' }), 'orders.yaml');
      expect(!invalid.ok && invalid.problems.map((problem) => problem.severity)).toEqual(['error']);
    } finally {
      warningRules.splice(warningRules.indexOf(rule), 1);
    }
  });
});

describe('formatProblem', () => {
  it('prints FILE:LINE:COL: path: message, and warning: before a warning', () => {
    expect(formatProblem(error(3, 5, 'spec.steps[1].id', 'is required'))).toBe('orders.yaml:3:5: spec.steps[1].id: is required');
    expect(formatProblem({ ...error(8, 22, 'spec.objectives.rpo', 'too tight'), severity: 'warning' })).toBe(
      'orders.yaml:8:22: spec.objectives.rpo: warning: too tight',
    );
    expect(formatProblem({ ...error(0, 0, '', 'no such file'), file: 'missing.yaml' })).toBe('missing.yaml: no such file');
  });
});

describe('files', () => {
  let scratch = '';
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'golive-definitions-'));
    await mkdir(join(scratch, 'nested'));
    await Promise.all([
      writeFile(join(scratch, 'b.yaml'), runbookWith({})),
      writeFile(join(scratch, 'nested', 'a.yml'), runbookWith({})),
      writeFile(join(scratch, 'notes.txt'), 'not a definition'),
    ]);
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('finds yaml files under folders, sorted, and reports a path that does not exist', async () => {
    const found = await findDefinitionFiles([scratch, join(scratch, 'nope')]);
    expect(found.files).toEqual([join(scratch, 'b.yaml'), join(scratch, 'nested', 'a.yml')]);
    expect(found.problems).toEqual([
      { file: join(scratch, 'nope'), line: 0, col: 0, path: '', message: 'no such file or folder', severity: 'error' },
    ]);
  });

  it('loadRunbook rejects another kind with a DefinitionError pointing at kind', async () => {
    const file = join(ROOT, 'checklists', 'go-live.yaml');
    const failure = await loadRunbook(file).catch((reason: unknown) => reason);
    expect(failure).toBeInstanceOf(DefinitionError);
    expect(failure instanceof DefinitionError && failure.message).toBe(`${file}:9:7: kind: is Checklist; expected a Runbook`);
  });

  it('loadRunbook rejects an invalid file with every problem in the message', async () => {
    const file = join(scratch, 'broken.yaml');
    await writeFile(file, runbookWith({ 8: '  objectives: {rpo: 1m, rto: soon}', 14: '      action: http.chek' }));
    const failure = await loadRunbook(file).catch((reason: unknown) => reason);
    expect(failure instanceof DefinitionError && failure.problems.map((problem) => problem.line)).toEqual([8, 14]);
    expect(failure instanceof DefinitionError && failure.message).toMatch(/broken\.yaml:14:15: spec\.steps\[0\]\.action: unknown action/);
  });
});

describe('shipped definitions', () => {
  const folders = ['checklists', 'runbooks', 'rollouts'].map((folder) => join(ROOT, folder));

  it('are all valid, without warnings', async () => {
    const found = await findDefinitionFiles(folders);
    expect(found.problems).toEqual([]);
    expect(found.files.length).toBeGreaterThanOrEqual(6);
    for (const file of found.files) {
      const result = await loadDefinition(file);
      expect(result.ok ? result.warnings : result.problems, file).toEqual([]);
    }
  });

  it('include a runbook for every DR strategy and the four checklist phases', async () => {
    const found = await findDefinitionFiles(folders);
    const results = await Promise.all(found.files.map(loadDefinition));
    const strategies = results.flatMap((result) => (result.ok && result.kind === 'Runbook' ? [result.definition.spec.strategy] : []));
    expect(new Set(strategies)).toEqual(new Set(STRATEGIES));
    const checklist = results.find((result) => result.ok && result.kind === 'Checklist' && result.definition.metadata.name === 'go-live');
    const phases = checklist?.ok && checklist.kind === 'Checklist' ? checklist.definition.spec.phases : [];
    expect(phases.map((phase) => phase.id)).toEqual(['technical', 'process', 'business', 'strategy']);
    const items = phases.flatMap((phase) => phase.items);
    expect(items.filter((item) => item.verification === 'sign-off').every((item) => (item.approvers ?? []).length > 0)).toBe(true);
    expect(items.filter((item) => item.verification === 'automatic').map((item) => (item.check?.kind === 'action' ? item.check.action : undefined))).toContain('tls.certificate');
  });
});
