import type { z } from 'zod';
import { formatDuration, parseDuration } from '../definitions/duration.ts';
import { MAX_GUARD_EVALUATIONS, RolloutPlanSchema, type RolloutPlan } from '../definitions/schema.ts';
import { UserError } from './errors.ts';

/**
 * A rollout without a plan file: `golive rollout start --flag F --service S` (and the same fields of
 * POST /api/rollouts). The options become a RolloutPlan parsed by the same schema as a file, so an
 * ad-hoc rollout is held to the same rules; a mistake is told by the option that caused it.
 */

export const ADHOC_SOURCE = 'ad hoc';
export const DEFAULT_PHASES = [10, 50, 100] as const;
export const DEFAULT_BAKE = '30m';
/** How long an ad-hoc approval waits before the rollout rolls back. */
const APPROVAL_TIMEOUT = '24h';
/** The one Prometheus target an ad-hoc plan's guards query. */
const METRICS_TARGET = 'metrics';

export interface AdhocOptions {
  flag: string;
  service: string;
  /** Percentages, rising, the last one 100. */
  phases?: readonly number[];
  /** Each phase's bake. */
  bake?: string;
  provider?: 'builtin' | 'unleash';
  environment?: string;
  /** A release manager approves every phase after the first. */
  approvals?: boolean;
  /** A checklist that gates the start, by name. */
  checklist?: string;
  /** The Prometheus the guards query (a URL, or `${NAME}` the worker resolves). */
  prometheus?: string;
  /** `NAME:QUERY<MAX` or `NAME:QUERY>MIN`, see parseGuard. */
  guards?: readonly string[];
}

/** How an option is spelled where it was given: `--phases` on the command line, `phases` in an API body. */
export type Spelling = (option: keyof AdhocOptions) => string;
const asField: Spelling = (option) => option;

/** `10,50,100` → [10, 50, 100]; anything but whole numbers separated by commas is refused. */
export function parsePhases(text: string, spell: Spelling = asField): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UserError(`${spell('phases')} ${text}: give whole percentages separated by commas, like 10,50,100`);
  }
  return parts.map(Number);
}

interface GuardText {
  name: string;
  query: string;
  max?: number;
  min?: number;
}

/**
 * `error-rate:sum(rate(errors[5m]))<0.01`: the query must stay below 0.01 (a max); `>` for a min. The
 * last `<` or `>` before the number is the bound, so the query itself may compare.
 */
export function parseGuard(text: string, spell: Spelling = asField): GuardText {
  const match = /^([^:\s]+):(.+?)\s*([<>])\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/i.exec(text.trim());
  if (!match) {
    throw new UserError(`${spell('guards')} ${text}: write NAME:QUERY<MAX (breached above MAX) or NAME:QUERY>MIN (breached below MIN), like 'error-rate:sum(rate(http_errors_total[5m]))<0.01'`);
  }
  const [, name = '', query = '', bound, value] = match;
  return bound === '<' ? { name, query, max: Number(value) } : { name, query, min: Number(value) };
}

/** The plan name of an ad-hoc rollout: the flag key, written as a definition name. */
function planName(flag: string): string {
  return flag.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

/** A guard interval that keeps the evaluations of every bake within what a rollout's history holds. */
function guardInterval(bakeMs: number): string {
  const minutes = Math.max(1, Math.ceil(bakeMs / MAX_GUARD_EVALUATIONS / 60_000));
  return formatDuration(minutes * 60_000);
}

/** The RolloutPlan of an ad-hoc rollout, or a UserError naming each option at fault and why. */
export function adhocPlan(options: AdhocOptions, spell: Spelling = asField): RolloutPlan {
  const phases = options.phases ?? DEFAULT_PHASES;
  const bake = options.bake ?? DEFAULT_BAKE;
  const guards = (options.guards ?? []).map((text) => parseGuard(text, spell));
  if (guards.length > 0 && options.prometheus === undefined) {
    throw new UserError(`${spell('guards')} needs ${spell('prometheus')} URL: the Prometheus the guard queries`);
  }
  if (options.provider === 'unleash') {
    throw new UserError(`${spell('provider')} unleash: an ad-hoc rollout moves golive's built-in flags only; for an Unleash flag write a RolloutPlan file with an unleash target (see rollouts/)`);
  }
  const bakeMs = (parseDuration(bake) ?? 0) * phases.length;
  const candidate = {
    apiVersion: 'golive/v1',
    kind: 'RolloutPlan',
    metadata: { name: planName(options.flag) || options.flag, service: options.service, description: `ad-hoc rollout of flag ${options.flag}` },
    spec: {
      checklist: options.checklist,
      flag: { key: options.flag, provider: options.provider, environment: options.environment },
      targets: options.prometheus === undefined ? {} : { [METRICS_TARGET]: { type: 'prometheus', url: options.prometheus } },
      phases: phases.map((percent, index) => ({
        percent,
        bake,
        approval: options.approvals && index > 0
          ? { approvers: ['release-manager'], timeout: APPROVAL_TIMEOUT, message: `Go to ${percent}% of ${options.flag}?` }
          : undefined,
      })),
      guards: guards.map((guard) => ({ ...guard, target: METRICS_TARGET, interval: guardInterval(bakeMs) })),
    },
  };
  const parsed = RolloutPlanSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  throw new UserError(describeIssues(parsed.error.issues, options, spell));
}

/** Which option an issue at this path of the plan comes from. */
function optionAt(path: readonly PropertyKey[]): keyof AdhocOptions {
  const [section, field, key, phaseField] = path;
  if (section === 'metadata') return field === 'service' ? 'service' : 'flag';
  if (field === 'flag') return key === 'environment' ? 'environment' : key === 'key' ? 'flag' : 'provider';
  if (field === 'phases') return phaseField === 'bake' ? 'bake' : phaseField === 'approval' ? 'approvals' : 'phases';
  if (field === 'guards') return 'guards';
  if (field === 'targets') return 'prometheus';
  if (field === 'checklist') return 'checklist';
  return 'flag';
}

/** `--phases 50,10: phases must raise the percentage; --service Orders: must be lower-case …`, each option once. */
function describeIssues(issues: readonly z.core.$ZodIssue[], options: AdhocOptions, spell: Spelling): string {
  const byOption = new Map<keyof AdhocOptions, Set<string>>();
  for (const issue of issues) {
    const option = optionAt(issue.path);
    byOption.set(option, (byOption.get(option) ?? new Set()).add(issue.message));
  }
  return [...byOption].map(([option, messages]) => {
    const given = shown(options, option);
    return `${spell(option)}${given === undefined ? '' : ` ${given}`}: ${[...messages].join('; ')}`;
  }).join('; ');
}

function shown(options: AdhocOptions, option: keyof AdhocOptions): string | undefined {
  if (option === 'phases') return (options.phases ?? DEFAULT_PHASES).join(',');
  if (option === 'bake') return options.bake ?? DEFAULT_BAKE;
  const value = options[option];
  return typeof value === 'string' ? value : undefined;
}
