import { z } from 'zod';
import { stepTarget, type ActionCall } from '../call.ts';
import { deadlineSignal } from '../context.ts';
import { businessFailure, rethrow } from '../../definitions/failures.ts';
import { joinUrl } from '../http/checks.ts';

/** One rule of /api/v1/rules; recording rules have no state. Fields Prometheus adds later are ignored. */
const Rule = z.object({
  type: z.string(),
  name: z.string(),
  health: z.string().default('unknown'),
  state: z.string().optional(),
  lastError: z.string().optional(),
});
const RulesAnswer = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({ groups: z.array(z.object({ name: z.string(), file: z.string().optional(), rules: z.array(Rule) })) }),
  }),
  z.object({ status: z.literal('error'), error: z.string() }),
]);

/** An alerting rule as the evidence shows it. */
interface AlertRule {
  name: string;
  group: string;
  health: string;
  state: string | null;
  lastError?: string;
}

const MAX_LISTED = 100;

/** The body as JSON, or undefined: whatever else answered is told apart from Prometheus by its shape. */
function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function loadedAlertRules(call: ActionCall<'prometheus.rules'>): Promise<AlertRule[]> {
  const target = stepTarget(call, 'prometheus');
  const context = `prometheus.rules on ${target.name}`;
  let url: string;
  try {
    // type=alert asks Prometheus for alerting rules only; recording rules are dropped below as well, for servers that ignore it.
    url = joinUrl(target.spec.url, '/api/v1/rules?type=alert');
  } catch {
    throw businessFailure(`target ${target.name}: url is not a valid URL`, 'InvalidTarget');
  }
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { signal: deadlineSignal(30_000) });
    text = await response.text();
  } catch (error) {
    rethrow(error, `${context} failed`, 'QueryFailed');
  }
  if (response.status >= 500) throw new Error(`${context}: Prometheus answered ${response.status}`);
  const answer = RulesAnswer.safeParse(parsedJson(text));
  if (!answer.success) throw businessFailure(`${context}: the answer (HTTP ${response.status}) is not a Prometheus rules list; is the target's url Prometheus itself?`, 'QueryFailed');
  if (answer.data.status === 'error') throw businessFailure(`${context}: ${answer.data.error}`, 'QueryFailed');
  return answer.data.data.groups.flatMap((group) =>
    group.rules
      .filter((rule) => rule.type === 'alerting')
      .map((rule) => ({
        name: rule.name,
        group: group.name,
        health: rule.health,
        state: rule.state ?? null,
        ...(rule.lastError ? { lastError: rule.lastError } : {}),
      })),
  );
}

/** Why a loaded alert cannot be relied on: it failed its last evaluation, or has not been evaluated yet. */
function unhealthyText(rule: AlertRule): string {
  if (rule.health === 'unknown') return `${rule.name} (group ${rule.group}) has not been evaluated yet`;
  return `${rule.name} (group ${rule.group}) is ${rule.health}${rule.lastError ? `: ${rule.lastError}` : ''}`;
}

/**
 * Lists the alerting rules Prometheus has loaded and checks the named ones are there and
 * evaluate cleanly. An alert that is loaded but erroring (a query that no longer parses against
 * the series it names) would never fire, so it counts as not there. Whether an alert is firing
 * is reported but does not decide: the item asks that the alerts exist, not that all is quiet.
 */
export async function rules(call: ActionCall<'prometheus.rules'>) {
  const { alerts, minRules } = call.input;
  const loaded = await loadedAlertRules(call);
  const missing = alerts.filter((name) => !loaded.some((rule) => rule.name === name));
  const unhealthy = loaded.filter((rule) => alerts.includes(rule.name) && rule.health !== 'ok');
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(`${missing.length} of ${alerts.length} named alerts ${missing.length === 1 ? 'is' : 'are'} not loaded: ${missing.join(', ')}`);
  }
  if (unhealthy.length > 0) problems.push(`not healthy: ${unhealthy.map(unhealthyText).join('; ')}`);
  if (loaded.length < minRules) problems.push(`${loaded.length} alerting rules are loaded, at least ${minRules} required`);
  return {
    ok: problems.length === 0,
    ...(problems.length > 0 ? { reason: problems.join('; ') } : {}),
    alerting: loaded.length,
    firing: loaded.filter((rule) => rule.state === 'firing').map((rule) => rule.name).slice(0, MAX_LISTED),
    missing,
    unhealthy: unhealthy.map(({ name, group, health, lastError }) => ({ name, group, health, ...(lastError ? { lastError } : {}) })),
    rules: loaded.slice(0, MAX_LISTED),
  };
}
