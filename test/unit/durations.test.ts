import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../definitions/load.ts';
import { error, problemsOf } from '../support/runbook-text.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const POSITIVE = 'must be longer than 0s';

interface Edit {
  /** A shipped definition file. */
  file: string;
  /** The first line part that matches is replaced by `to`; the new value is `to`'s last word. */
  from: string;
  to: string;
}

const shipped = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function edited({ file, from, to }: Edit): string {
  const text = shipped(file);
  if (!text.includes(from)) throw new Error(`${file} has no "${from}"`);
  return text.replace(from, to);
}

/** The error a user sees at the value the edit wrote. */
function errorAtEdit({ file, from, to }: Edit, path: string, message: string) {
  const text = shipped(file);
  const at = text.indexOf(from);
  const line = text.slice(0, at).split('\n').length;
  const col = at - text.lastIndexOf('\n', at - 1) + to.lastIndexOf(' ') + 1;
  return error(line, col, path, message);
}

describe('durations that must be positive', () => {
  const cases: (Edit & { path: string })[] = [
    { file: 'runbooks/orders-restore-demo.yaml', from: 'timeout: 30m', to: 'timeout: 0s', path: 'spec.steps[2].approval.timeout' },
    { file: 'runbooks/orders-restore-demo.yaml', from: 'timeout: 5m', to: 'timeout: -5m', path: 'spec.steps[1].timeout' },
    { file: 'runbooks/orders-restore-demo.yaml', from: 'duration: 10m', to: 'duration: 0ms', path: 'spec.steps[5].pause.duration' },
    { file: 'runbooks/orders-warm-standby.yaml', from: 'wait: 60s', to: 'wait: 0m', path: 'spec.steps[4].with.wait' },
    { file: 'runbooks/orders-drill-demo.yaml', from: 'maxAge: 7d', to: 'maxAge: 0d', path: 'spec.backup.retention.maxAge' },
    { file: 'runbooks/orders-drill-demo.yaml', from: 'within: 2m', to: 'within: 0s', path: 'spec.drill.health.within' },
    { file: 'runbooks/orders-drill-demo.yaml', from: 'window: 7d', to: 'window: 0h0m', path: 'spec.drill.window' },
    { file: 'checklists/go-live.yaml', from: 'assert: value < 0.5', to: 'timeout: 0s', path: 'spec.phases[0].items[2].check.timeout' },
    { file: 'rollouts/checkout-v2.yaml', from: 'bake: 7d', to: 'bake: 0s', path: 'spec.phases[0].bake' },
    { file: 'rollouts/checkout-v2.yaml', from: 'timeout: 2d', to: 'timeout: -2d', path: 'spec.phases[1].approval.timeout' },
  ];

  it.each(cases)('refuses "$to" in $file at $path, and nothing else', (edit) => {
    expect(problemsOf(edited(edit))).toEqual([errorAtEdit(edit, edit.path, POSITIVE)]);
  });

  it('tells a bare number what a duration looks like', () => {
    const edit = { file: 'runbooks/orders-restore-demo.yaml', from: 'timeout: 30m', to: 'timeout: 0' };
    expect(problemsOf(edited(edit))).toEqual([
      errorAtEdit(edit, 'spec.steps[2].approval.timeout', 'must be a duration like 30s, 5m, 1h30m or 2d, got 0'),
    ]);
  });
});

describe('objectives', () => {
  it('accepts RPO and RTO of 0s: an active-active service loses no data and has no downtime', () => {
    const text = edited({ file: 'runbooks/orders-active-active.yaml', from: 'rpo: 5s\n    rto: 5m', to: 'rpo: 0s\n    rto: 0s' });
    expect(parseDefinition(text, 'orders.yaml')).toMatchObject({ ok: true, warnings: [] });
  });

  it('refuses a negative objective at its value', () => {
    const edit = { file: 'runbooks/orders-warm-standby.yaml', from: 'rto: 30m', to: 'rto: -30m' };
    expect(problemsOf(edited(edit))).toEqual([errorAtEdit(edit, 'spec.objectives.rto', 'must be 0s or longer')]);
  });
});
