import { parseDefinition } from '../../definitions/load.ts';
import type { Runbook } from '../../definitions/schema.ts';

export interface FailoverDrillFields {
  name: string;
  service: string;
  /** Where the service answers in the `staging` drill environment. */
  stagingUrl: string;
  rto?: string;
}

/**
 * The YAML of a failover runbook a drill can run anywhere: a noop, then the health check that stops
 * the RTO clock. Its own target is a port nothing listens on; its `staging` environment is `stagingUrl`.
 */
export function failoverDrillRunbookText(fields: FailoverDrillFields): string {
  return [
    'apiVersion: golive/v1',
    'kind: Runbook',
    `metadata: {name: ${fields.name}, service: ${fields.service}}`,
    'spec:',
    '  strategy: warm-standby',
    `  objectives: {rpo: 1m, rto: ${fields.rto ?? '10m'}}`,
    '  rtoStopsAt: verify-service',
    '  targets:',
    '    front: {type: http, url: "http://127.0.0.1:9"}',
    '  environments:',
    '    staging:',
    '      targets:',
    `        front: {type: http, url: "${fields.stagingUrl}"}`,
    '  steps:',
    '    - {id: announce, action: noop}',
    '    - {id: verify-service, action: http.wait-healthy, target: front, with: {within: 30s}}',
    '',
  ].join('\n');
}

export function failoverDrillRunbook(fields: FailoverDrillFields): Runbook {
  const result = parseDefinition(failoverDrillRunbookText(fields), `${fields.name}.yaml`);
  if (!result.ok || result.kind !== 'Runbook') throw new Error(`test runbook ${fields.name} is invalid: ${JSON.stringify(result)}`);
  return result.definition;
}
