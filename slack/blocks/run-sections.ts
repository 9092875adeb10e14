import { formatMeasured } from '../../definitions/duration.ts';
import type { ChecklistItemRecord, ChecklistRecord, Decision, FailoverRecord, GuardReading, ItemStatus, RolloutRecord } from '../../workflows/definitions.ts';
import { APPROVE_ACTION, encodeGate, REJECT_ACTION } from '../ids.ts';
import type { Block } from './drill-result.ts';
import { clip, clock, code, decisionButtons, escape, listed, MAX_FIELD, mrkdwn, person, section, type RunBlock } from './kit.ts';

/** What each kind of run adds to its message: a rollout's phases and guards, a failover's RTO clock, a checklist's items. */

const MAX_REASON = 300;
/** Sign-offs shown with their own buttons; more than this are listed, and decided with `golive approve`. */
const MAX_SIGN_OFF_BUTTONS = 10;

const fields = (...texts: Array<string | undefined>): Block => ({
  type: 'section',
  fields: texts.filter((text): text is string => text !== undefined).map((text) => mrkdwn(clip(text, MAX_FIELD))),
});

/** A guard's reading as people read it: four significant digits. */
const readable = (value: number | null) => (value === null ? 'no data' : String(Number(value.toPrecision(4))));

export function guardLine(reading: GuardReading, now: Date): string {
  const name = `*${escape(reading.name)}*`;
  const limit = `(breaches at ${escape(reading.threshold)})`;
  if (reading.at === '') return `:white_circle: ${name} no reading yet ${limit}`;
  const at = `at ${clock(reading.at, now)}`;
  if (reading.ok === null) {
    const why = reading.error ? `: ${escape(clip(reading.error, 200))}` : '';
    return `:grey_question: ${name} no data${why} ${limit}, ${reading.inconclusive} in a row, ${at}`;
  }
  if (reading.ok) return `:large_green_circle: ${name} ${readable(reading.value)} ${limit}, ${at}`;
  return `:red_circle: ${name} ${readable(reading.value)} ${limit}, ${reading.breaches} breach${reading.breaches === 1 ? '' : 'es'} in a row, ${at}`;
}

export function rolloutBlocks(rollout: RolloutRecord, now: Date): RunBlock[] {
  const total = rollout.phases.length;
  const phase = rollout.phase === 0 ? `not started (${total} phases)` : `${rollout.phase} of ${total}, at ${rollout.percent}%`;
  const waiting = rollout.phases.find((candidate) => candidate.status === 'waiting-approval');
  const next = rollout.nextPhaseAt ? clock(rollout.nextPhaseAt, now) : waiting ? `after approval of ${waiting.percent}%` : undefined;
  const gate = rollout.gate ? `${code(rollout.gate.checklist)} ${escape(rollout.gate.status)} (run ${code(rollout.gate.runId)})` : undefined;
  const blocks: RunBlock[] = [
    fields(
      `*Flag*\n${code(rollout.flag.key)} (${rollout.flag.provider}, ${escape(rollout.flag.environment)})`,
      `*Phase*\n${phase}`,
      next && `*Next phase*\n${next}`,
      gate && `*Go-live gate*\n${gate}`,
    ),
  ];
  const phases = rollout.phases.map((entry) => {
    const by = entry.approvedBy ? `, approved by ${person(entry.approvedBy)}` : '';
    const until = entry.status === 'baking' && entry.bakeEndsAt ? ` until ${clock(entry.bakeEndsAt, now)}` : '';
    return `${entry.percent}% ${entry.status}${until}${by}`;
  });
  if (phases.length > 0) blocks.push(section(`*Phases*\n${listed(phases, 'phases')}`));
  if (rollout.guards.length > 0) blocks.push(section(`*Guards*\n${listed(rollout.guards.map((reading) => guardLine(reading, now)), 'guards')}`));
  const back = rollout.rolledBack;
  if (back) {
    blocks.push(section(`:rewind: *Rolled back* from ${back.from}% to ${back.to}% by ${person(back.by)} at ${clock(back.at, now)}: ${escape(clip(back.cause, MAX_REASON))}`));
  }
  return blocks;
}

const objectiveVerdict = (measuredMs: number, objectiveMs: number) => (measuredMs <= objectiveMs ? 'met' : 'missed');

/** The RTO clock: measured once recovered, else the time since T_d as of this update. */
export function rtoText(failover: FailoverRecord, now: Date): string {
  const { rto, rtoMs: objectiveMs } = failover.objectives;
  const measured = failover.measured.rtoMs;
  if (measured !== undefined) return `${formatMeasured(measured)} (objective ${escape(rto)}, ${objectiveVerdict(measured, objectiveMs)})`;
  if (failover.finishedAt !== undefined) return `not measured (objective ${escape(rto)})`;
  const elapsed = Math.max(0, now.getTime() - Date.parse(failover.declaredAt));
  const over = elapsed > objectiveMs ? ', over the objective' : '';
  return `running: ${formatMeasured(elapsed)} elapsed at ${clock(now.toISOString(), now)} (objective ${escape(rto)}${over})`;
}

function exposureText(failover: FailoverRecord): string | undefined {
  const exposure = failover.measured.exposure;
  if (exposure === undefined) return undefined;
  const seconds = exposure.seconds === null ? 'unknown' : `${formatMeasured(exposure.seconds * 1_000)} behind`;
  const bound = exposure.source === 'standby' ? ', an upper bound read on the standby' : '';
  return `*Exposure (RPO ${escape(failover.objectives.rpo)})*\n${seconds}${bound}`;
}

export function failoverBlocks(failover: FailoverRecord, now: Date): RunBlock[] {
  const paused = failover.measured.pausedMs ?? 0;
  const drill = failover.drill ? ` (drill in ${escape(failover.environment ?? 'a drill environment')})` : '';
  return [
    section(`*Why:* ${escape(clip(failover.reason, MAX_REASON))}${drill}`),
    fields(
      `*T_d (declared)*\n${clock(failover.declaredAt, now)}`,
      `*RTO*\n${rtoText(failover, now)}`,
      paused > 0 ? `*Paused by a control*\n${formatMeasured(paused)}` : undefined,
      failover.recoveredAt ? `*Recovered*\n${clock(failover.recoveredAt, now)}` : undefined,
      exposureText(failover),
      failover.fenced === 'not-run' ? undefined : `*Old primary*\n${failover.fenced}`,
      failover.promoted ? `*Promoted*\n${code(failover.promoted.target)}${failover.promoted.at ? ` at ${clock(failover.promoted.at, now)}` : ''}` : undefined,
    ),
  ];
}

const ITEM_EMOJI: Record<ItemStatus, string> = {
  pending: ':white_circle:',
  checking: ':arrows_counterclockwise:',
  'waiting-sign-off': ':hourglass_flowing_sand:',
  passed: ':white_check_mark:',
  failed: ':x:',
  waived: ':ballot_box_with_check:',
};

const decided = (verb: string, decision: Decision) => `${verb} by ${person(decision.actor)}${decision.comment ? `: ${escape(clip(decision.comment, MAX_REASON))}` : ''}`;

function itemLine(item: ChecklistItemRecord): string {
  const name = `${ITEM_EMOJI[item.status]} *${escape(clip(item.title, 200))}* (${code(item.id)})`;
  if (item.waiver) return `${name} ${decided('waived', item.waiver)}`;
  if (item.signedOff) return `${name} ${decided('signed off', item.signedOff)}`;
  if (item.rejected) return `${name} ${decided('rejected', item.rejected)}`;
  const reason = item.status === 'failed' && item.reason ? ` — ${escape(clip(item.reason, MAX_REASON))}` : '';
  return `${name} ${item.status}${reason}`;
}

export function checklistBlocks(checklist: ChecklistRecord, now: Date): RunBlock[] {
  const { summary } = checklist;
  const open = checklist.status === 'running' ? `, ${summary.open} open; sign-offs close ${clock(checklist.deadline, now)}` : '';
  const counts = `${summary.passed} of ${summary.total} passed, ${summary.failed} failed, ${summary.waived} waived${open}`;
  const rollout = checklist.rollout ? ` Gates rollout ${code(checklist.rollout)}.` : '';
  const blocks: RunBlock[] = [section(`*Items:* ${counts}.${rollout}\n${listed(checklist.items.map(itemLine), 'items', 30)}`)];
  if (checklist.status !== 'running') return blocks;
  const waiting = checklist.items.filter((item) => item.status === 'waiting-sign-off');
  for (const item of waiting.slice(0, MAX_SIGN_OFF_BUTTONS)) {
    const who = `${(item.approvers ?? []).map(escape).join(' or ')}, not ${person(checklist.requestedBy)}`;
    blocks.push(
      section(`:raised_hand: *Sign-off:* ${escape(clip(item.title, 500))} (${code(item.id)}), owner ${escape(item.owner)}\nWho may sign off: ${who}.`),
      decisionButtons(`signoff:${item.id}`, encodeGate({ runId: checklist.runId, stepId: item.id }), 'Sign off', 'Reject', { approve: APPROVE_ACTION, reject: REJECT_ACTION }),
    );
  }
  if (waiting.length > MAX_SIGN_OFF_BUTTONS) {
    blocks.push(section(`_${waiting.length - MAX_SIGN_OFF_BUTTONS} more sign-offs wait: \`golive approve ${escape(checklist.runId)} --step ITEM\`_`));
  }
  return blocks;
}
