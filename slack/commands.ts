import { SLASH_COMMAND } from './ids.ts';

/**
 * What `/golive TEXT` asks for, parsed without any I/O: a typed command, or a mistake saying what to
 * type instead. Free text (a comment, a reason) is everything after the arguments, as typed.
 */

/** Controls a run takes from Slack, by the subcommand group that offers them. */
export const ROLLOUT_CONTROLS = ['promote', 'pause', 'resume', 'abort', 'rollback'] as const;
export const FAILOVER_CONTROLS = ['pause', 'resume', 'abort'] as const;
type RolloutControl = (typeof ROLLOUT_CONTROLS)[number];
type FailoverControl = (typeof FAILOVER_CONTROLS)[number];

export type SlackCommand =
  | { kind: 'help' }
  | { kind: 'posture' }
  | { kind: 'status'; runId: string }
  | { kind: 'rollout-start'; plan: string; comment?: string }
  | { kind: 'rollout-status'; runId: string }
  | { kind: 'checklist-run'; checklist: string; service?: string; comment?: string }
  | { kind: 'drill-run'; runbook: string; freshBackup: boolean }
  | { kind: 'drill-status'; runId: string }
  | { kind: 'drill-history'; service?: string }
  | { kind: 'failover-start'; runbook: string; reason: string; environment?: string }
  | { kind: 'failover-status'; runId: string }
  | { kind: 'control'; control: RolloutControl | FailoverControl | 'approve' | 'reject'; runId: string; stepId?: string; comment?: string; of?: 'rollout' | 'failover' };

export type ParsedCommand = { ok: true; command: SlackCommand } | { ok: false; error: string };

/** Every form the command takes, in the order help lists them. */
export const USAGE = {
  'rollout start': 'rollout start PLAN [comment]',
  'rollout status': 'rollout status RUN',
  'rollout control': `rollout ${ROLLOUT_CONTROLS.join('|')} RUN [comment]`,
  'checklist run': 'checklist run CHECKLIST [--service SERVICE] [comment]',
  'drill run': 'drill run RUNBOOK [--fresh-backup]',
  'drill status': 'drill status RUN',
  'drill history': 'drill history [SERVICE]',
  'failover start': 'failover start RUNBOOK [--drill ENVIRONMENT] REASON',
  'failover status': 'failover status RUN',
  'failover control': `failover ${FAILOVER_CONTROLS.join('|')} RUN [comment]`,
  approve: 'approve RUN [--step STEP] [comment]',
  reject: 'reject RUN [--step STEP] REASON',
  status: 'status RUN',
  posture: 'posture',
  help: 'help',
} as const;

const GROUPS = {
  rollout: ['rollout start', 'rollout status', 'rollout control'],
  checklist: ['checklist run'],
  drill: ['drill run', 'drill status', 'drill history'],
  failover: ['failover start', 'failover status', 'failover control'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof USAGE>>;

const typed = (form: keyof typeof USAGE) => `\`${SLASH_COMMAND} ${USAGE[form]}\``;
const orList = (forms: ReadonlyArray<keyof typeof USAGE>) => forms.map(typed).join(', or ');

/** The answer to `/golive help` (and to `/golive` alone). */
export function helpText(): string {
  const lines = (Object.keys(USAGE) as Array<keyof typeof USAGE>).map((form) => `• ${typed(form)}`);
  return [
    `*${SLASH_COMMAND}* starts and steers golive's runs. RUN is a run id, as golive answers when a run starts.`,
    ...lines,
    'Starting a rollout takes a release manager; a failover, an incident commander. Approvals need someone other than the requester.',
  ].join('\n');
}

interface Word {
  value: string;
  start: number;
  end: number;
}

/** Slack clients turn a typed `--` into a dash; both spellings of an option are accepted. */
const normalize = (value: string) => value.replace(/^[\u2013\u2014]/, '--');

function words(text: string): Word[] {
  return [...text.matchAll(/\S+/g)].map((match) => ({ value: normalize(match[0]), start: match.index, end: match.index + match[0].length }));
}

class Mistake extends Error {}

/** Names of plans, runbooks, checklists, services, environments and steps (definitions/fields.ts identifier). */
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Run ids: golive's own (`orders-failover-20261124-1532-k3f9`) and those of scheduled runs. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** Reads the words of one subcommand in order: required arguments, options, then free text. */
class Reader {
  private next = 0;
  constructor(private readonly text: string, private readonly all: Word[], first: number, private readonly form: keyof typeof USAGE) {
    this.next = first;
  }

  private fail(what: string): never {
    throw new Mistake(`${what}: type ${typed(this.form)}`);
  }

  argument(label: string, pattern: RegExp, shape: string): string {
    const word = this.all[this.next];
    if (word === undefined || word.value.startsWith('--')) this.fail(`${label} is missing`);
    if (!pattern.test(word.value)) this.fail(`${label} "${word.value}" is not ${shape}`);
    this.next += 1;
    return word.value;
  }

  optionalArgument(label: string, pattern: RegExp, shape: string): string | undefined {
    return this.all[this.next] === undefined ? undefined : this.argument(label, pattern, shape);
  }

  /** `--name VALUE` and `--flag` options, in any order, until the first word that is not one. */
  options(known: Record<string, 'value' | 'flag'>): Map<string, string> {
    const found = new Map<string, string>();
    for (let word = this.all[this.next]; word?.value.startsWith('--'); word = this.all[this.next]) {
      const name = word.value.slice(2);
      const kind = known[name];
      if (kind === undefined) this.fail(`${word.value} is not an option here`);
      if (found.has(name)) this.fail(`--${name} is given twice`);
      this.next += 1;
      if (kind === 'flag') {
        found.set(name, 'true');
        continue;
      }
      const value = this.all[this.next];
      if (value === undefined || value.value.startsWith('--') || !NAME.test(value.value)) this.fail(`--${name} needs a name after it`);
      found.set(name, value.value);
      this.next += 1;
    }
    return found;
  }

  /** Everything after the words read so far, as typed; undefined when nothing is left. */
  rest(): string | undefined {
    const word = this.all[this.next];
    this.next = this.all.length;
    return word === undefined ? undefined : this.text.slice(word.start).trim();
  }

  required(label: string): string {
    const text = this.rest();
    if (text === undefined) this.fail(`${label} is missing`);
    return text;
  }

  done(): void {
    const word = this.all[this.next];
    if (word !== undefined) this.fail(`"${word.value}" is more than this command takes`);
  }
}

const RUN = ['RUN', RUN_ID, 'a run id'] as const;
const named = (label: string) => [label, NAME, 'a name (lower-case letters, digits and dashes)'] as const;

function rollout(sub: string | undefined, read: (form: keyof typeof USAGE) => Reader): SlackCommand {
  if (sub === 'start') {
    const reader = read('rollout start');
    return { kind: 'rollout-start', plan: reader.argument(...named('PLAN')), comment: reader.rest() };
  }
  return statusOrControl('rollout', sub, read, ROLLOUT_CONTROLS);
}

function failover(sub: string | undefined, read: (form: keyof typeof USAGE) => Reader): SlackCommand {
  if (sub === 'start') {
    const reader = read('failover start');
    const runbook = reader.argument(...named('RUNBOOK'));
    const environment = reader.options({ drill: 'value' }).get('drill');
    return { kind: 'failover-start', runbook, environment, reason: reader.required('REASON (why you fail over: the incident)') };
  }
  return statusOrControl('failover', sub, read, FAILOVER_CONTROLS);
}

/** `rollout|failover status RUN`, and `rollout|failover CONTROL RUN [comment]` for the controls that kind takes. */
function statusOrControl(of: 'rollout' | 'failover', sub: string | undefined, read: (form: keyof typeof USAGE) => Reader, controls: readonly (RolloutControl | FailoverControl)[]): SlackCommand {
  if (sub === 'status') {
    const reader = read(`${of} status`);
    const runId = reader.argument(...RUN);
    reader.done();
    return of === 'rollout' ? { kind: 'rollout-status', runId } : { kind: 'failover-status', runId };
  }
  const control = controls.find((name) => name === sub);
  if (control === undefined) throw new Mistake(subcommandMistake(of, sub));
  const reader = read(`${of} control`);
  return { kind: 'control', control, of, runId: reader.argument(...RUN), comment: reader.rest() };
}

function drill(sub: string | undefined, read: (form: keyof typeof USAGE) => Reader): SlackCommand {
  if (sub === 'run') {
    const reader = read('drill run');
    const runbook = reader.argument(...named('RUNBOOK'));
    const freshBackup = reader.options({ 'fresh-backup': 'flag' }).has('fresh-backup');
    reader.done();
    return { kind: 'drill-run', runbook, freshBackup };
  }
  if (sub === 'status') {
    const reader = read('drill status');
    const runId = reader.argument(...RUN);
    reader.done();
    return { kind: 'drill-status', runId };
  }
  if (sub === 'history') {
    const reader = read('drill history');
    const service = reader.optionalArgument(...named('SERVICE'));
    reader.done();
    return { kind: 'drill-history', service };
  }
  throw new Mistake(subcommandMistake('drill', sub));
}

function checklist(sub: string | undefined, read: (form: keyof typeof USAGE) => Reader): SlackCommand {
  if (sub !== 'run') throw new Mistake(subcommandMistake('checklist', sub));
  const reader = read('checklist run');
  const name = reader.argument(...named('CHECKLIST'));
  const service = reader.options({ service: 'value' }).get('service');
  return { kind: 'checklist-run', checklist: name, service, comment: reader.rest() };
}

function subcommandMistake(group: keyof typeof GROUPS, sub: string | undefined): string {
  const said = sub === undefined ? `\`${SLASH_COMMAND} ${group}\` needs more` : `\`${sub}\` is not something \`${SLASH_COMMAND} ${group}\` does`;
  return `${said}: type ${orList(GROUPS[group])}`;
}

function decision(verb: 'approve' | 'reject', read: (form: keyof typeof USAGE) => Reader): SlackCommand {
  const reader = read(verb);
  const runId = reader.argument(...RUN);
  const stepId = reader.options({ step: 'value' }).get('step');
  const comment = verb === 'reject' ? reader.required('REASON (why you reject)') : reader.rest();
  return { kind: 'control', control: verb, runId, stepId, comment };
}

/** Slack sends &, < and > in a command's text as HTML entities. */
const unescape = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Parses the text typed after `/golive`, as Slack sends it. */
export function parseCommand(sent: string): ParsedCommand {
  const text = unescape(sent);
  const all = words(text);
  const [first, second] = all.map((word) => word.value.toLowerCase());
  const read = (skip: number) => (form: keyof typeof USAGE) => new Reader(text, all, skip, form);
  try {
    switch (first) {
      case undefined:
      case 'help':
        return { ok: true, command: { kind: 'help' } };
      case 'posture': {
        read(1)('posture').done();
        return { ok: true, command: { kind: 'posture' } };
      }
      case 'status': {
        const reader = read(1)('status');
        const runId = reader.argument(...RUN);
        reader.done();
        return { ok: true, command: { kind: 'status', runId } };
      }
      case 'approve':
      case 'reject':
        return { ok: true, command: decision(first, read(1)) };
      case 'rollout':
        return { ok: true, command: rollout(second, read(2)) };
      case 'failover':
        return { ok: true, command: failover(second, read(2)) };
      case 'drill':
        return { ok: true, command: drill(second, read(2)) };
      case 'checklist':
        return { ok: true, command: checklist(second, read(2)) };
      default:
        return { ok: false, error: `\`${first}\` is not a golive command: type \`${SLASH_COMMAND} help\` to see them all (${Object.keys(GROUPS).join(', ')}, approve, reject, status, posture)` };
    }
  } catch (error) {
    if (error instanceof Mistake) return { ok: false, error: error.message };
    throw error;
  }
}
