import type { Block, TextObject } from './drill-result.ts';

/** The Block Kit a run's message adds to the drill result's: buttons in an actions block. */
export interface Button {
  type: 'button';
  action_id: string;
  text: TextObject & { type: 'plain_text' };
  value: string;
  style?: 'primary' | 'danger';
}
export type RunBlock = Block | { type: 'actions'; block_id: string; elements: Button[] };

export interface RunSlackMessage {
  /** Shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: RunBlock[];
}

/** Slack's limits: 50 blocks a message, 3000 characters a section text, 2000 a field, 150 a header. */
export const MAX_BLOCKS = 50;
export const MAX_TEXT = 3_000;
export const MAX_FIELD = 2_000;
export const MAX_HEADER = 150;

/** Slack's mrkdwn treats &, < and > as markup; user-controlled text is escaped. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export const mrkdwn = (text: string): TextObject => ({ type: 'mrkdwn', text: clip(text, MAX_TEXT) });
export const section = (text: string): Block => ({ type: 'section', text: mrkdwn(text) });
export const context = (text: string): Block => ({ type: 'context', elements: [mrkdwn(text)] });

/** A Slack user id (`U0123ABCD`, Enterprise `W…`): U or W, capitals and digits, at least one digit. */
export const SLACK_USER_ID = /^[UW](?=[A-Z0-9]*\d)[A-Z0-9]{4,}$/;

/** A Slack user id as a mention; anyone else (`rita`, `schedule:…`) as escaped text. */
export function person(actor: string): string {
  return SLACK_USER_ID.test(actor) ? `<@${actor}>` : escape(actor);
}

/** Inline code for an id or name a person typed: escaped, and without backticks that would end it. */
export function code(text: string): string {
  return `\`${escape(text.replace(/`/g, "'"))}\``;
}

/**
 * Lines joined into one text of at most `maxChars` and `maxLines` lines; what does not fit is
 * counted in a last line ("and 12 more steps").
 */
export function listed(lines: string[], noun: string, maxLines = 25, maxChars = MAX_TEXT): string {
  const kept: string[] = [];
  let size = 0;
  for (const [index, line] of lines.entries()) {
    const more = `_and ${lines.length - index} more ${noun}_`;
    const fits = kept.length < maxLines && size + line.length + 1 + (index < lines.length - 1 ? more.length + 1 : 0) <= maxChars;
    if (!fits) {
      kept.push(more);
      break;
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

/** Approve and Reject, for the gate `value` names. */
export function decisionButtons(blockId: string, value: string, approve: string, reject: string, ids: { approve: string; reject: string }): RunBlock {
  return {
    type: 'actions',
    block_id: clip(blockId, 255),
    elements: [
      { type: 'button', action_id: ids.approve, text: { type: 'plain_text', text: approve }, style: 'primary', value },
      { type: 'button', action_id: ids.reject, text: { type: 'plain_text', text: reject }, style: 'danger', value },
    ],
  };
}

/** A time as people in different places read it alike: `10:31:05 UTC`, the date too when not `now`'s. */
export function clock(iso: string, now: Date): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return escape(iso);
  const time = `${at.toISOString().slice(11, 19)} UTC`;
  return at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}
