import { parseDefinition, type Problem } from '../../definitions/load.ts';

/** A valid runbook; each test breaks one line of it. Line numbers are in the comments. */
export const RUNBOOK = [
  'apiVersion: golive/v1', //                     1
  'kind: Runbook', //                             2
  'metadata:', //                                 3
  '  name: orders-drill', //                      4
  '  service: orders', //                         5
  'spec:', //                                     6
  '  strategy: warm-standby', //                  7
  '  objectives: {rpo: 1m, rto: 30m}', //         8
  '  targets:', //                                9
  '    db: {type: postgres, url: "${DB_URL}"}', // 10
  '    api: {type: http, url: "${API_URL}"}', //   11
  '  steps:', //                                  12
  '    - id: check-api', //                       13
  '      action: http.check', //                  14
  '      target: api', //                         15
  '    - id: approve', //                         16
  '      approval: {approvers: [incident-commander]}', // 17
  '    - id: promote', //                         18
  '      action: postgres.fence', //              19
  '      target: db', //                          20
  '  rollback:', //                               21
  '    - id: recheck-api', //                     22
  '      compensates: promote', //                23
  '      action: http.check', //                  24
  '      target: api', //                         25
];

/** The runbook with the given lines (1-based) replaced; `null` removes a line. */
export function runbookWith(changes: Record<number, string | null>): string {
  const lines = RUNBOOK.flatMap((text, index) => {
    const change = changes[index + 1];
    if (change === undefined) return [text];
    return change === null ? [] : [change];
  });
  return `${lines.join('\n')}\n`;
}

export function problemsOf(text: string): Problem[] {
  const result = parseDefinition(text, 'orders.yaml');
  if (result.ok) throw new Error(`expected problems, got a valid ${result.kind}`);
  return result.problems;
}

export function error(line: number, col: number, path: string, message: string): Problem {
  return { file: 'orders.yaml', line, col, path, message, severity: 'error' };
}
