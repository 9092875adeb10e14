import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../definitions/load.ts';
import { error, problemsOf, runbookWith } from '../support/runbook-text.ts';

describe('parseDefinition', () => {
  it('accepts the valid runbook the other tests break', () => {
    const result = parseDefinition(runbookWith({}), 'orders.yaml');
    expect(result).toMatchObject({ ok: true, kind: 'Runbook', warnings: [] });
  });

  it('reports an unknown action at its value', () => {
    const [problem, ...rest] = problemsOf(runbookWith({ 14: '      action: http.chek' }));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ line: 14, col: 15, path: 'spec.steps[0].action', severity: 'error' });
    expect(problem?.message).toMatch(/^unknown action "http\.chek" \(known: noop, http\.check, /);
  });

  it('reports a missing step id at the step that lacks it', () => {
    expect(problemsOf(runbookWith({ 13: '    - description: no id' }))).toEqual([error(13, 7, 'spec.steps[0].id', 'is required')]);
  });

  it('reports a duplicate step id at the second use', () => {
    expect(problemsOf(runbookWith({ 22: '    - id: check-api' }))).toEqual([
      error(22, 11, 'spec.rollback[0].id', 'duplicate step id "check-api"'),
    ]);
  });

  it('reports a bad duration at its value', () => {
    expect(problemsOf(runbookWith({ 8: '  objectives: {rpo: 1m, rto: 30 minutes}' }))).toEqual([
      error(8, 30, 'spec.objectives.rto', 'must be a duration like 30s, 5m, 1h30m or 2d'),
    ]);
  });

  it('reports a step target that is not declared', () => {
    expect(problemsOf(runbookWith({ 20: '      target: orders-db' }))).toEqual([
      error(20, 15, 'spec.steps[2].target', 'target "orders-db" is not declared in spec.targets (declared: db, api)'),
    ]);
  });

  it('reports a step target of the wrong type', () => {
    expect(problemsOf(runbookWith({ 15: '      target: db' }))).toEqual([
      error(15, 15, 'spec.steps[0].target', 'http.check acts on http targets; "db" is postgres'),
    ]);
  });

  it('reports an approval without approvers at the approval mapping', () => {
    expect(problemsOf(runbookWith({ 17: '      approval: {timeout: 1h}' }))).toEqual([
      error(17, 17, 'spec.steps[1].approval.approvers', 'is required'),
    ]);
  });

  it('reports an approval with an empty approver list at the list', () => {
    expect(problemsOf(runbookWith({ 17: '      approval: {approvers: []}' }))).toEqual([
      error(17, 29, 'spec.steps[1].approval.approvers', 'an approval needs at least one approver role'),
    ]);
  });

  it('reports a rollback step naming an unknown target', () => {
    expect(problemsOf(runbookWith({ 25: '      target: nowhere' }))).toEqual([
      error(25, 15, 'spec.rollback[0].target', 'target "nowhere" is not declared in spec.targets (declared: db, api)'),
    ]);
  });

  it('reports a rollback step compensating a step that does not exist', () => {
    expect(problemsOf(runbookWith({ 23: '      compensates: promote-db' }))).toEqual([
      error(23, 20, 'spec.rollback[0].compensates', 'no step "promote-db" in spec.steps'),
    ]);
  });

  it('reports an unknown top-level key at the key', () => {
    const text = `${runbookWith({})}specs: {}\n`;
    expect(problemsOf(text)).toEqual([error(26, 1, 'specs', 'unknown field "specs"')]);
  });

  it('reports a misspelt key in a step as unknown, and the key it should have been as missing', () => {
    expect(problemsOf(runbookWith({ 20: '      tagret: db' }))).toEqual([
      error(18, 7, 'spec.steps[2].target', 'postgres.fence needs a target of type postgres'),
      error(20, 7, 'spec.steps[2].tagret', 'unknown field "tagret"'),
    ]);
  });

  it('reports a wrong apiVersion', () => {
    expect(problemsOf(runbookWith({ 1: 'apiVersion: golive/v2' }))).toEqual([
      error(1, 13, 'apiVersion', 'must be golive/v1, got "golive/v2"'),
    ]);
  });

  it('reports a missing apiVersion at the document', () => {
    expect(problemsOf(runbookWith({ 1: null }))).toEqual([error(1, 1, 'apiVersion', 'is required (must be golive/v1)')]);
  });

  it('reports a wrong kind and stops there', () => {
    expect(problemsOf(runbookWith({ 2: 'kind: Runbok' }))).toEqual([
      error(2, 7, 'kind', 'must be one of Runbook, Checklist, RolloutPlan, got "Runbok"'),
    ]);
  });

  it('reports a YAML syntax error with its position', () => {
    const [problem, ...rest] = problemsOf(runbookWith({ 4: '  name: "orders-drill' }));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ line: 4, col: 22, path: 'metadata.name', severity: 'error' });
    expect(problem?.message).toContain('missing closing "quote');
  });

  it('reports a duplicate key at the second one', () => {
    expect(problemsOf(runbookWith({ 15: '      action: http.check' }))).toEqual([
      error(15, 7, 'spec.steps[0].action', 'duplicate key: each key appears once in a mapping'),
    ]);
  });

  it('reports a wrongly typed action input at its value', () => {
    const text = runbookWith({ 15: '      target: api\n      with: {expectStatus: ok}' });
    expect(problemsOf(text)).toEqual([error(16, 28, 'spec.steps[0].with.expectStatus', 'must be a number, got "ok"')]);
  });

  it('reports an empty file and a file that is not a mapping', () => {
    expect(problemsOf('# nothing yet\n')).toEqual([
      { file: 'orders.yaml', line: 0, col: 0, path: '', message: 'file is empty: a definition starts with apiVersion: golive/v1', severity: 'error' },
    ]);
    expect(problemsOf('- a\n- b\n')).toEqual([
      error(1, 1, '', 'a definition is a mapping with apiVersion, kind, metadata and spec, got a list'),
    ]);
  });
});

describe('checklists and rollout plans', () => {
  const checklist = (item: string) =>
    [
      'apiVersion: golive/v1',
      'kind: Checklist',
      'metadata: {name: launch}',
      'spec:',
      '  targets: {service: {type: http, url: "${SERVICE_URL}"}}',
      '  phases:',
      '    - id: technical',
      '      title: Technical',
      '      items:',
      item,
    ].join('\n');

  it('reports an automatic item without a check at the item', () => {
    expect(problemsOf(checklist('        - {id: tls, title: TLS, owner: sre, verification: automatic}'))).toEqual([
      error(10, 11, 'spec.phases[0].items[0].check', 'an automatic item needs a check with an action'),
    ]);
  });

  it('reports a rollout whose last phase stops short of 100%', () => {
    const text = [
      'apiVersion: golive/v1',
      'kind: RolloutPlan',
      'metadata: {name: checkout-v2, service: checkout}',
      'spec:',
      '  flag: {key: checkout-v2}',
      '  phases:',
      '    - percent: 10',
      '    - percent: 50',
    ].join('\n');
    expect(problemsOf(text)).toEqual([error(8, 16, 'spec.phases[1].percent', 'the last phase must reach 100')]);
  });
});

describe('placeholders in with', () => {
  const rollbackWith = (servers: string) =>
    runbookWith({
      10: '    edge: {type: nginx, prefix: /srv/nginx, upstreamFile: conf/up.conf}',
      19: '      action: nginx.switch-upstream',
      20: '      target: edge\n      with: {upstream: api, servers: ["10.0.0.2:80"]}',
      22: '    - id: restore-traffic',
      24: '      action: nginx.switch-upstream',
      25: `      target: edge\n      with: {upstream: api, servers: "${servers}"}`,
    });

  it('accepts a whole placeholder where the action wants a list and keeps it for the workflow', () => {
    const result = parseDefinition(rollbackWith('{{steps.promote.previous}}'), 'orders.yaml');
    expect(result.ok && result.kind === 'Runbook' && result.definition.spec.rollback[0]).toMatchObject({
      kind: 'action',
      with: { upstream: 'api', servers: '{{steps.promote.previous}}' },
    });
  });

  it('reports a placeholder naming a step that does not run first, at its field', () => {
    expect(problemsOf(rollbackWith('{{steps.promot.previous}}'))).toEqual([
      error(27, 38, 'spec.rollback[0].with.servers', '{{steps.promot.previous}} names step "promot", which does not run before this step'),
    ]);
  });
});
