import type { FlagState } from '../activities/flags/provider.ts';
import type { FlagChangeRecord, FlagKeyInfo, FlagUpdateResult } from '../store/flags.ts';
import { formatTable } from './context.ts';
import { formatTime } from './format-run.ts';

/** What `golive flags` prints for people; --json prints the API's answers instead. */

const state = (flag: { enabled: boolean; percent: number }) => (flag.enabled ? `on at ${flag.percent}%` : `off (${flag.percent}% when on)`);

export function formatFlags(flags: FlagState[], environment: string | undefined): string {
  if (flags.length === 0) {
    const where = environment === undefined ? '' : ` in ${environment}`;
    return `no flags${where} yet: create one with \`golive flags set KEY --percent 0${environment === undefined ? '' : ` --environment ${environment}`}\``;
  }
  return formatTable([
    ['KEY', 'ENVIRONMENT', 'STATE', 'UPDATED', 'BY'],
    ...flags.map((flag) => [flag.key, flag.environment, state(flag), formatTime(flag.updatedAt), flag.updatedBy ?? '']),
  ]);
}

/** `10% → 50%`, `on → off`, `created at 10%`: the parts of a change that changed. */
export function describeChange(from: { percent?: number; enabled?: boolean } | null, to: { percent?: number; enabled?: boolean }): string {
  if (from === null || from.percent === undefined) return `created at ${to.percent}%${to.enabled === false ? ', off' : ''}`;
  const parts: string[] = [];
  if (to.percent !== undefined && from.percent !== to.percent) parts.push(`${from.percent}% → ${to.percent}%`);
  if (to.enabled !== undefined && from.enabled !== undefined && from.enabled !== to.enabled) parts.push(`${from.enabled ? 'on' : 'off'} → ${to.enabled ? 'on' : 'off'}`);
  return parts.join(', ') || 'no change';
}

export function formatFlag(answer: { flag: FlagState; changes: FlagChangeRecord[] }): string {
  const { flag, changes } = answer;
  const head = `${flag.key} in ${flag.environment}: ${state(flag)}, updated ${formatTime(flag.updatedAt)}${flag.updatedBy ? ` by ${flag.updatedBy}` : ''}`;
  if (changes.length === 0) return head;
  const table = formatTable([
    ['WHEN', 'WHO', 'CHANNEL', 'RUN', 'CHANGE', 'COMMENT'],
    ...changes.map((change) => [formatTime(change.at), change.actor, change.channel ?? '', change.runId ?? '', describeChange(change.from, change.to), change.comment ?? '']),
  ]);
  return `${head}\n\n${table}`;
}

export function formatUpdate(change: FlagUpdateResult): string {
  const where = `${change.key} in ${change.environment}`;
  if (!change.changed) return `${where} is already ${state(change.to)}; nothing changed`;
  return `${where}: ${describeChange(change.from, change.to)} (now ${state(change.to)})`;
}

export function formatKeys(keys: FlagKeyInfo[]): string {
  if (keys.length === 0) return 'no flag-read keys yet: create one with `golive flags keys create NAME --environment production`';
  return formatTable([
    ['ID', 'NAME', 'ENVIRONMENT', 'STATUS', 'CREATED', 'BY'],
    ...keys.map((key) => [key.id, key.name, key.environment, key.revokedAt ? `revoked ${formatTime(key.revokedAt)}` : 'active', formatTime(key.createdAt), key.createdBy]),
  ]);
}
