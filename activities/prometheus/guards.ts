import type { Target } from '../../definitions/targets.ts';
import { parseInput } from '../call.ts';
import type { ActionDeps } from '../types.ts';
import { query } from './query.ts';

/** One guard's query, its Prometheus target as written (resolved here, on the worker). */
export interface GuardQuery {
  name: string;
  query: string;
  target: { name: string; spec: Target };
}

/** A guard's answer: the number, or null with why (no data, several series, Prometheus unreachable). */
export interface GuardValue {
  name: string;
  value: number | null;
  at: string;
  error?: string;
}

/**
 * Runs each guard's query once. Never throws for a guard: an answer that cannot be had is
 * inconclusive, which the rollout counts against the guard's own limit, and the next tick asks again.
 */
export async function evaluateGuards(deps: ActionDeps, runId: string, guards: GuardQuery[]): Promise<GuardValue[]> {
  return Promise.all(guards.map(async (guard): Promise<GuardValue> => {
    const at = new Date().toISOString();
    try {
      const call = parseInput('prometheus.query', { runId, stepId: `guard-${guard.name}`, idempotencyKey: `${runId}:guard-${guard.name}`, target: guard.target, targets: {}, with: { query: guard.query } }, deps.env, deps.targetEnv);
      const answer = await query(call);
      if (answer.value !== null) return { name: guard.name, value: answer.value, at };
      const why = answer.series.length === 0 ? 'no data' : `${answer.series.length} series: aggregate the query to one number`;
      return { name: guard.name, value: null, at, error: why };
    } catch (error) {
      return { name: guard.name, value: null, at, error: error instanceof Error ? error.message : String(error) };
    }
  }));
}
