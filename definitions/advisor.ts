import { durationMs, formatDuration } from './duration.ts';
import { STRATEGIES, type Strategy } from './schema.ts';

/** What one DR strategy reaches at best, what it usually delivers, and the runbook that implements it. */
export interface StrategyBand {
  strategy: Strategy;
  /** The tightest RPO and RTO the strategy reaches in a real disaster, as a duration text. */
  floor: { rpo: string; rto: string };
  /** The range people plan with, in words. */
  typical: string;
  /** The shipped runbook that implements the strategy; copy it and adapt the targets. */
  template: string;
}

/**
 * The four strategies, cheapest first (STRATEGIES is in cost order), with the floors chosen so
 * the DR chapter's table comes out as written: RPO 24h / RTO 2d gives backup-restore, 1h / 4h
 * pilot-light, 5m / 30m warm-standby, 0 / 0 active-active. An objective equal to a floor is met.
 * - backup-restore 1h / 1d: dumps are rarely taken more than hourly (RPO hours to days), and
 *   recovering means provisioning a server, restoring the newest dump and starting the service
 *   there: the chapter counts that in days, so anything tighter than a day asks for more.
 * - pilot-light 1m / 1h: the data streams to an always-on replica (lag of seconds to a minute),
 *   but the application fleet starts from zero, warms up and takes traffic only after DNS moves:
 *   hours, never minutes, so RTO 30m rules it out.
 * - warm-standby 10s / 10m: a streaming replica and a scaled-down fleet already run; recovery is
 *   a promote, a scale-up of running instances and a traffic switch: minutes.
 * - active-active 0 / 0: every site serves all the time; losing one is a drain, with no data
 *   lost and no downtime. It is the answer for objectives no other strategy meets.
 */
export const STRATEGY_BANDS: Record<Strategy, StrategyBand> = {
  'backup-restore': {
    strategy: 'backup-restore',
    floor: { rpo: '1h', rto: '1d' },
    typical: 'RPO hours to days, RTO days',
    template: 'runbooks/orders-backup-restore.yaml',
  },
  'pilot-light': {
    strategy: 'pilot-light',
    floor: { rpo: '1m', rto: '1h' },
    typical: 'RPO minutes to hours, RTO hours',
    template: 'runbooks/orders-pilot-light.yaml',
  },
  'warm-standby': {
    strategy: 'warm-standby',
    floor: { rpo: '10s', rto: '10m' },
    typical: 'RPO minutes, RTO minutes to hours',
    template: 'runbooks/orders-warm-standby.yaml',
  },
  'active-active': {
    strategy: 'active-active',
    floor: { rpo: '0s', rto: '0s' },
    typical: 'RPO 0, RTO 0',
    template: 'runbooks/orders-active-active.yaml',
  },
};

export interface Objectives {
  rpoMs: number;
  rtoMs: number;
}

/** The objective a strategy cannot meet ('rpo' first), or undefined when it meets both. */
export function missedObjective(strategy: Strategy, objectives: Objectives): 'rpo' | 'rto' | undefined {
  const { floor } = STRATEGY_BANDS[strategy];
  if (objectives.rpoMs < durationMs(floor.rpo)) return 'rpo';
  if (objectives.rtoMs < durationMs(floor.rto)) return 'rto';
  return undefined;
}

/** The cheapest strategy that meets both objectives; active-active when none does. */
export function cheapestFitting(objectives: Objectives): Strategy {
  return STRATEGIES.find((strategy) => missedObjective(strategy, objectives) === undefined) ?? 'active-active';
}

export interface Advice {
  strategy: Strategy;
  template: string;
  why: string;
  rejected: { strategy: Strategy; why: string }[];
}

/** An objective as a person reads it: `0` for none at all, else like `5m` or `1d`. */
function objectiveText(ms: number): string {
  return ms === 0 ? '0' : formatDuration(ms);
}

function floorText(strategy: Strategy, objective: 'rpo' | 'rto'): string {
  return objectiveText(durationMs(STRATEGY_BANDS[strategy].floor[objective]));
}

function shortfall(strategy: Strategy, objectives: Objectives): string | undefined {
  const missed = missedObjective(strategy, objectives);
  if (missed === undefined) return undefined;
  const name = missed.toUpperCase();
  const asked = objectiveText(missed === 'rpo' ? objectives.rpoMs : objectives.rtoMs);
  return `cannot meet ${name} ${asked}: its tightest ${name} is ${floorText(strategy, missed)} (${STRATEGY_BANDS[strategy].typical})`;
}

/** The cheapest strategy meeting both objectives, and why each other strategy was not chosen. */
export function advise(objectives: Objectives): Advice {
  const chosen = cheapestFitting(objectives);
  const band = STRATEGY_BANDS[chosen];
  const asked = `RPO ${objectiveText(objectives.rpoMs)} and RTO ${objectiveText(objectives.rtoMs)}`;
  const why = `${chosen} is the cheapest strategy that meets ${asked}: it reaches RPO ${floorText(chosen, 'rpo')} and RTO ${floorText(chosen, 'rto')} at best (${band.typical})`;
  const rejected = STRATEGIES.filter((strategy) => strategy !== chosen).map((strategy) => ({
    strategy,
    why: shortfall(strategy, objectives) ?? `meets ${asked} but costs more than ${chosen}`,
  }));
  return { strategy: chosen, template: band.template, why, rejected };
}
