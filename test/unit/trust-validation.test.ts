import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../definitions/load.ts';
import { error, problemsOf, RUNBOOK, runbookWith } from '../support/runbook-text.ts';

const OWN = 'targets may only name variables of the systems they reach (like ${ORDERS_DB_URL})';

/** A runbook with a backup, a drill and one SQL step; each test breaks one line of it. */
const PROTECTED = [
  'apiVersion: golive/v1', //                                      1
  'kind: Runbook', //                                              2
  'metadata: {name: orders-drill, service: orders}', //            3
  'spec:', //                                                      4
  '  strategy: warm-standby', //                                   5
  '  objectives: {rpo: 5m, rto: 15m}', //                          6
  '  targets:', //                                                 7
  '    orders: {type: postgres, url: "${ORDERS_DB_URL}"}', //      8
  '    vault: {type: filesystem, path: "${ORDERS_BACKUP_DIR}"}', // 9
  '  backup: {source: orders, store: vault}', //                   10
  '  drill:', //                                                   11
  '    server: orders', //                                         12
  '    smoke:', //                                                 13
  '      - id: orders-present', //                                 14
  '        sql: SELECT count(*) AS orders FROM orders', //         15
  '    health: {sql: SELECT 1}', //                                16
  '  steps:', //                                                   17
  '    - id: count', //                                            18
  '      action: postgres.query', //                               19
  '      target: orders', //                                       20
  '      with:', //                                                21
  "        sql: SELECT count(*) FROM orders WHERE placed_by = $1", // 22
  "        params: ['{{run.requestedBy}}']", //                    23
];

function protectedWith(changes: Record<number, string>): string {
  return `${PROTECTED.map((line, index) => changes[index + 1] ?? line).join('\n')}\n`;
}

describe("targets never name golive's own variables", () => {
  it('accepts a service variable like ${ORDERS_DB_URL}', () => {
    const result = parseDefinition(runbookWith({ 10: '    db: {type: postgres, url: "${ORDERS_DB_URL}"}' }), 'orders.yaml');
    expect(result).toMatchObject({ ok: true, warnings: [] });
  });

  it('refuses ${DATABASE_URL} at the value', () => {
    expect(problemsOf(runbookWith({ 10: '    db: {type: postgres, url: "${DATABASE_URL}"}' }))).toEqual([
      error(10, 31, 'spec.targets.db.url', `\${DATABASE_URL} names golive's own credentials; ${OWN}`),
    ]);
  });

  it('refuses ${AWS_SECRET_ACCESS_KEY} inside a URL', () => {
    expect(problemsOf(runbookWith({ 11: '    api: {type: http, url: "https://x/?k=${AWS_SECRET_ACCESS_KEY}"}' }))).toEqual([
      error(11, 28, 'spec.targets.api.url', `\${AWS_SECRET_ACCESS_KEY} names golive's own credentials; ${OWN}`),
    ]);
  });

  it('refuses ${GOLIVE_ROLES} and ${PGPASSWORD}, each at its own value', () => {
    const text = runbookWith({
      10: '    db: {type: postgres, url: "${ORDERS_DB_URL}?password=${PGPASSWORD}"}',
      11: '    api: {type: http, url: "https://x/", description: "${GOLIVE_ROLES}"}',
    });
    expect(problemsOf(text)).toEqual([
      error(10, 31, 'spec.targets.db.url', `\${PGPASSWORD} names golive's own credentials; ${OWN}`),
      error(11, 55, 'spec.targets.api.description', `\${GOLIVE_ROLES} names golive's own configuration; ${OWN}`),
    ]);
  });

  it('refuses them in checklists and rollout plans too', () => {
    const checklist = [
      'apiVersion: golive/v1',
      'kind: Checklist',
      'metadata: {name: go-live}',
      'spec:',
      '  targets:',
      '    status: {type: http, url: "https://status/${SLACK_BOT_TOKEN}"}',
      '  phases:',
      '    - {id: technical, title: Ready, items: [{id: up, title: Up, owner: sre, verification: sign-off}]}',
    ].join('\n');
    const plan = [
      'apiVersion: golive/v1',
      'kind: RolloutPlan',
      'metadata: {name: checkout-v2, service: checkout}',
      'spec:',
      '  flag: {key: checkout-v2}',
      '  targets:',
      '    metrics: {type: prometheus, url: "${NODE_OPTIONS}"}',
      '  phases: [{percent: 100}]',
    ].join('\n');
    const problems = [parseDefinition(checklist, 'orders.yaml'), parseDefinition(plan, 'orders.yaml')].flatMap((result) => (result.ok ? [] : result.problems));
    expect(problems).toEqual([
      error(6, 31, 'spec.targets.status.url', `\${SLACK_BOT_TOKEN} names golive's own credentials; ${OWN}`),
      error(7, 38, 'spec.targets.metrics.url', `\${NODE_OPTIONS} names golive's own process settings; ${OWN}`),
    ]);
  });

  it("refuses nginx's binary: the worker's GOLIVE_NGINX_BIN decides", () => {
    const edge = '    edge: {type: nginx, prefix: /srv/edge, upstreamFile: conf/up.conf, binary: /tmp/evil}';
    expect(problemsOf(runbookWith({ 11: `${RUNBOOK[10]}\n${edge}` }))).toEqual([
      error(12, 80, 'spec.targets.edge.binary', "remove binary: the worker's GOLIVE_NGINX_BIN decides which nginx runs (default: nginx from PATH), never a runbook"),
    ]);
  });
});

describe('SQL never holds placeholders', () => {
  it('accepts a placeholder in params, referred to as $1', () => {
    expect(parseDefinition(protectedWith({}), 'orders.yaml')).toMatchObject({ ok: true, kind: 'Runbook' });
  });

  it('refuses {{run.requestedBy}} inside postgres.query sql', () => {
    const text = protectedWith({ 22: "        sql: SELECT count(*) FROM orders WHERE placed_by = '{{run.requestedBy}}'" });
    expect(problemsOf(text)).toEqual([
      error(22, 14, 'spec.steps[0].with.sql', 'placeholders are not allowed in SQL ({{run.requestedBy}}); pass values as params: [...] and refer to them as $1'),
    ]);
  });

  it("refuses placeholders in a drill's smoke and health SQL", () => {
    const text = protectedWith({
      15: "        sql: SELECT count(*) FROM orders WHERE run = '{{run.id}}'",
      16: '    health: {sql: "SELECT {{steps.count.rowCount}}"}',
    });
    const advice = 'this SQL runs as written: put the value itself in it';
    expect(problemsOf(text)).toEqual([
      error(15, 14, 'spec.drill.smoke[0].sql', `placeholders are not allowed in SQL ({{run.id}}); ${advice}`),
      error(16, 19, 'spec.drill.health.sql', `placeholders are not allowed in SQL ({{steps.count.rowCount}}); ${advice}`),
    ]);
  });

  it('refuses placeholders in drill.health sql', () => {
    const text = protectedWith({ 19: '      action: drill.health', 22: '        sql: "SELECT {{run.id}}"', 23: '        within: 1m' });
    expect(problemsOf(text)).toEqual([
      error(22, 14, 'spec.steps[0].with.sql', 'placeholders are not allowed in SQL ({{run.id}}); this SQL runs as written: put the value itself in it'),
    ]);
  });
});
