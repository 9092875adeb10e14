import { describe, expect, it } from 'vitest';
import { helpText, parseCommand, USAGE, type SlackCommand } from '../../slack/commands.ts';

const RUN = 'checkout-v2-20261129-0312-4f1a';

function command(text: string): SlackCommand {
  const parsed = parseCommand(text);
  if (!parsed.ok) throw new Error(`expected "${text}" to parse, got: ${parsed.error}`);
  return parsed.command;
}

function mistake(text: string): string {
  const parsed = parseCommand(text);
  if (parsed.ok) throw new Error(`expected "${text}" to be refused, got ${JSON.stringify(parsed.command)}`);
  return parsed.error;
}

describe('/golive command parser', () => {
  it('reads every rollout subcommand, with the rest of the text as the comment', () => {
    expect(command('rollout start checkout-v2')).toEqual({ kind: 'rollout-start', plan: 'checkout-v2', comment: undefined });
    expect(command('  rollout   start checkout-v2   v2 for  everyone ')).toEqual({ kind: 'rollout-start', plan: 'checkout-v2', comment: 'v2 for  everyone' });
    expect(command(`rollout status ${RUN}`)).toEqual({ kind: 'rollout-status', runId: RUN });
    for (const control of ['promote', 'pause', 'resume', 'abort', 'rollback'] as const) {
      expect(command(`rollout ${control} ${RUN} error rate is fine`)).toEqual({ kind: 'control', control, of: 'rollout', runId: RUN, comment: 'error rate is fine' });
    }
  });

  it('reads failover start with the reason as typed, and a drill environment', () => {
    expect(command('failover start orders-warm-standby region eu-west-1 is down')).toEqual({
      kind: 'failover-start', runbook: 'orders-warm-standby', reason: 'region eu-west-1 is down', environment: undefined,
    });
    expect(command('failover start orders-warm-standby --drill staging quarterly drill')).toEqual({
      kind: 'failover-start', runbook: 'orders-warm-standby', reason: 'quarterly drill', environment: 'staging',
    });
    expect(command(`failover status ${RUN}`)).toEqual({ kind: 'failover-status', runId: RUN });
    expect(command(`failover abort ${RUN}`)).toEqual({ kind: 'control', control: 'abort', of: 'failover', runId: RUN, comment: undefined });
  });

  it('reads approve and reject, with an optional step and a required reason to reject', () => {
    expect(command(`approve ${RUN}`)).toEqual({ kind: 'control', control: 'approve', runId: RUN, stepId: undefined, comment: undefined });
    expect(command(`APPROVE ${RUN} --step approve-100 lag 2s, go`)).toEqual({ kind: 'control', control: 'approve', runId: RUN, stepId: 'approve-100', comment: 'lag 2s, go' });
    expect(command(`reject ${RUN} error budget spent`)).toEqual({ kind: 'control', control: 'reject', runId: RUN, stepId: undefined, comment: 'error budget spent' });
  });

  it('reads checklist, drill, status, posture and help', () => {
    expect(command('checklist run go-live --service orders first launch')).toEqual({ kind: 'checklist-run', checklist: 'go-live', service: 'orders', comment: 'first launch' });
    expect(command('checklist run go-live')).toEqual({ kind: 'checklist-run', checklist: 'go-live', service: undefined, comment: undefined });
    expect(command('drill run orders-backup-restore --fresh-backup')).toEqual({ kind: 'drill-run', runbook: 'orders-backup-restore', freshBackup: true });
    expect(command('drill run orders-backup-restore')).toEqual({ kind: 'drill-run', runbook: 'orders-backup-restore', freshBackup: false });
    expect(command(`drill status ${RUN}`)).toEqual({ kind: 'drill-status', runId: RUN });
    expect(command('drill history')).toEqual({ kind: 'drill-history', service: undefined });
    expect(command('drill history orders')).toEqual({ kind: 'drill-history', service: 'orders' });
    expect(command(`status ${RUN}`)).toEqual({ kind: 'status', runId: RUN });
    expect(command('posture')).toEqual({ kind: 'posture' });
    expect(command('help')).toEqual({ kind: 'help' });
    expect(command('   ')).toEqual({ kind: 'help' });
  });

  it('takes the dash a Slack client makes of a typed -- as the option, and decodes the entities Slack sends', () => {
    expect(command(`approve ${RUN} \u2014step approve-100`)).toMatchObject({ stepId: 'approve-100' });
    expect(command(`reject ${RUN} p99 &gt; 2s &amp; rising`)).toMatchObject({ comment: 'p99 > 2s & rising' });
  });

  it('says what to type instead of a group without its subcommand, or an unknown one', () => {
    expect(mistake('rollout')).toBe(
      '`/golive rollout` needs more: type `/golive rollout start PLAN [comment]`, or `/golive rollout status RUN`, or `/golive rollout promote|pause|resume|abort|rollback RUN [comment]`',
    );
    expect(mistake('rollout launch checkout-v2')).toMatch(/^`launch` is not something `\/golive rollout` does: type `\/golive rollout start PLAN/);
    expect(mistake('failover promote x')).toMatch(/^`promote` is not something `\/golive failover` does: type `\/golive failover start RUNBOOK/);
    expect(mistake('frobnicate')).toBe('`frobnicate` is not a golive command: type `/golive help` to see them all (rollout, checklist, drill, failover, approve, reject, status, posture)');
  });

  it('names the missing argument and the full form', () => {
    expect(mistake('failover start orders-warm-standby')).toBe(
      'REASON (why you fail over: the incident) is missing: type `/golive failover start RUNBOOK [--drill ENVIRONMENT] REASON`',
    );
    expect(mistake('failover start')).toBe('RUNBOOK is missing: type `/golive failover start RUNBOOK [--drill ENVIRONMENT] REASON`');
    expect(mistake('rollout start')).toBe('PLAN is missing: type `/golive rollout start PLAN [comment]`');
    expect(mistake('approve')).toBe('RUN is missing: type `/golive approve RUN [--step STEP] [comment]`');
    expect(mistake(`reject ${RUN}`)).toBe('REASON (why you reject) is missing: type `/golive reject RUN [--step STEP] REASON`');
    expect(mistake('status')).toBe('RUN is missing: type `/golive status RUN`');
    expect(mistake('rollout pause')).toBe('RUN is missing: type `/golive rollout promote|pause|resume|abort|rollback RUN [comment]`');
  });

  it('refuses names that are not names, options it does not take, and words past the end', () => {
    expect(mistake('rollout start Checkout_V2')).toBe('PLAN "Checkout_V2" is not a name (lower-case letters, digits and dashes): type `/golive rollout start PLAN [comment]`');
    expect(mistake(`approve ${RUN} --force yes`)).toBe('--force is not an option here: type `/golive approve RUN [--step STEP] [comment]`');
    expect(mistake(`approve ${RUN} --step`)).toBe('--step needs a name after it: type `/golive approve RUN [--step STEP] [comment]`');
    expect(mistake(`status ${RUN} now`)).toBe('"now" is more than this command takes: type `/golive status RUN`');
    expect(mistake('drill run orders --fresh-backup --fresh-backup')).toBe('--fresh-backup is given twice: type `/golive drill run RUNBOOK [--fresh-backup]`');
  });

  it('lists every form in help', () => {
    const help = helpText();
    for (const form of Object.values(USAGE)) expect(help).toContain(`\`/golive ${form}\``);
  });
});
