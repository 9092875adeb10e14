import { condition, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import { durationMs } from '../definitions/duration.ts';
import type { Guard, RolloutPlan } from '../definitions/schema.ts';
import type { GuardReading } from './definitions.ts';
import { PRESETS } from './presets.ts';
import type { RunbookRun } from './runbook-run.ts';

type Activities = ReturnType<typeof createActivities>;
const { evaluateGuards } = proxyActivities<Activities>(PRESETS.guards);

/** `> 0.01` / `< 0.5`: what breaches the guard, as the status shows it. */
export function breachText(guard: Guard): string {
  return [guard.max === undefined ? undefined : `> ${guard.max}`, guard.min === undefined ? undefined : `< ${guard.min}`].filter(Boolean).join(' or ');
}

/** A reading as a person reads it: four significant digits (0.3044, 1523). */
const readable = (value: number | null) => (value === null ? 'none' : Number(value.toPrecision(4)));

/** true within the thresholds, false outside, null without a value (inconclusive). */
export function judge(guard: Guard, value: number | null): boolean | null {
  if (value === null) return null;
  return !((guard.max !== undefined && value > guard.max) || (guard.min !== undefined && value < guard.min));
}

/**
 * Watches a rollout's guards while users are exposed: every guard's query at its interval, on
 * durable timers. `failureLimit` breaches in a row stop the run (failNow), which rolls the flag
 * back; `inconclusiveLimit` answers without data in a row hold the rollout (pause) for a person,
 * since no data proves nothing either way. An inconclusive answer neither adds to nor resets the
 * breaches. Only changes are audited (a breach, a recovery, a trip, a hold): the readings
 * themselves are in the rollout's record.
 */
export class GuardWatch {
  readonly readings: GuardReading[];
  private readonly last = new Map<string, number>();

  constructor(private readonly run: RunbookRun, private readonly plan: RolloutPlan, private readonly exposed: () => boolean) {
    this.readings = plan.spec.guards.map((guard) => ({
      name: guard.name, query: guard.query, value: null, threshold: breachText(guard), ok: null, at: '', breaches: 0, inconclusive: 0,
    }));
  }

  private get stopped(): boolean {
    return this.run.finished || this.run.failRequest !== undefined || this.run.abortRequest !== undefined || this.run.state.status === 'rolling-back';
  }

  async watch(): Promise<void> {
    const { guards } = this.plan.spec;
    if (guards.length === 0) return;
    const tickMs = Math.min(...guards.map((guard) => durationMs(guard.interval)));
    // Ticks keep their cadence: the time a query takes is not added to the interval.
    let next = Date.now() + tickMs;
    for (;;) {
      if (await condition(() => this.stopped, Math.max(1, next - Date.now()))) return;
      next = Math.max(next + tickMs, Date.now() + 1);
      if (!this.exposed()) continue;
      const now = Date.now();
      const due = guards.filter((guard) => now - (this.last.get(guard.name) ?? 0) >= durationMs(guard.interval) - tickMs / 2);
      if (due.length === 0) continue;
      for (const guard of due) this.last.set(guard.name, now);
      const targets = this.plan.spec.targets;
      const values = await evaluateGuards({
        runId: this.run.state.runId,
        guards: due.map((guard) => ({ name: guard.name, query: guard.query, target: { name: guard.target, spec: targets[guard.target]! } })),
      });
      if (this.stopped) return;
      for (const value of values) {
        const guard = guards.find((candidate) => candidate.name === value.name);
        if (guard) this.take(guard, value);
      }
    }
  }

  private take(guard: Guard, answer: { value: number | null; at: string; error?: string }): void {
    const reading = this.readings.find((candidate) => candidate.name === guard.name)!;
    const ok = judge(guard, answer.value);
    const wasBreaching = reading.breaches > 0;
    Object.assign(reading, {
      value: answer.value, ok, at: answer.at, error: answer.error,
      breaches: ok === false ? reading.breaches + 1 : ok === true ? 0 : reading.breaches,
      inconclusive: ok === null ? reading.inconclusive + 1 : 0,
    });
    const detail = { guard: guard.name, value: answer.value, threshold: reading.threshold, breaches: reading.breaches, limit: guard.failureLimit };
    if (ok === false) this.run.record('guard.breached', { detail });
    if (ok === true && wasBreaching) this.run.record('guard.recovered', { detail });
    if (ok === false && reading.breaches >= guard.failureLimit) {
      const reason = `guard ${guard.name} breached ${reading.breaches} times in a row (last value ${readable(answer.value)}; it breaches at ${reading.threshold}), checked every ${guard.interval}`;
      this.run.record('guard.tripped', { detail: { ...detail, reason } });
      this.run.failNow(reason);
    }
    if (ok === null && reading.inconclusive >= guard.inconclusiveLimit && !this.run.state.paused) {
      const reason = `guard ${guard.name} had no answer ${reading.inconclusive} times in a row (${answer.error ?? 'no data'}); the rollout holds at its percentage until someone resumes or rolls it back`;
      this.run.state.paused = true;
      this.run.record('rollout.held', { detail: { guard: guard.name, reason, error: answer.error } });
      reading.inconclusive = 0;
    }
  }
}
