import { z } from 'zod';
import { businessFailure, rethrow, type FailureType } from '../../definitions/failures.ts';
import type { TargetOf } from '../../definitions/targets.ts';
import { deadlineSignal } from '../context.ts';
import { joinUrl } from '../http/checks.ts';
import type { FlagChange, FlagChangeResult, FlagProvider, FlagState } from './provider.ts';

/**
 * Unleash through its Admin API (v7). A flag is a feature in project `default` (the unleash
 * target names a server, not a project); its rollout in one environment is one flexibleRollout
 * strategy golive owns, marked by its title. Stickiness `default` with groupId = the flag key
 * puts a user in the same bucket at every percentage, so a user in at 10% stays in at 50%.
 *
 * Retries: Unleash keeps no idempotency keys, and its event log says who changed a strategy, not
 * which step did; so golive writes the step's key and the percentage it started from into the
 * strategy's title ("golive rollout (RUN:STEP: from 10%)"), visible in
 * Unleash's UI and event log. A retried step finds its own key there and reports the first
 * attempt's `from` (and changed: true), never the percentage the first attempt left behind; it
 * still finishes whatever the first attempt did not (enabling the environment). Setting the
 * percentage the flag already has writes nothing and reports changed: false. The limitation: if
 * someone rewrites the title between the attempts, the retry reports the current percentage.
 */

const PROJECT = 'default';
const TITLE = 'golive rollout';
/** "golive rollout", optionally followed by the step that last changed it and where it started. */
const TITLE_MARK = /^golive rollout(?: \((.+): from (none|\d+(?:\.\d+)?%)\))?$/;
const REQUEST_TIMEOUT_MS = 30_000;

const Strategy = z.object({
  id: z.string(),
  name: z.string(),
  title: z.string().nullish(),
  disabled: z.boolean().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  constraints: z.array(z.unknown()).nullish(),
  segments: z.array(z.unknown()).nullish(),
});
type Strategy = z.infer<typeof Strategy>;
const FeatureEnvironment = z.object({ name: z.string(), enabled: z.boolean(), strategies: z.array(Strategy) });
type FeatureEnvironment = z.infer<typeof FeatureEnvironment>;
const Feature = z.object({ name: z.string(), environments: z.array(FeatureEnvironment) });
type Feature = z.infer<typeof Feature>;
const ProjectEnvironments = z.object({ environments: z.array(z.object({ name: z.string() })) });
const UnleashRefusal = z.object({ message: z.string().optional(), details: z.array(z.object({ message: z.string() })).optional() });

interface Answer {
  status: number;
  body: unknown;
}

/** The strategy's title, when golive owns it: the step that last changed it and the percentage before. */
function golivesMark(strategy: Strategy): { key?: string; from: number | null } | undefined {
  const match = strategy.name === 'flexibleRollout' ? TITLE_MARK.exec(strategy.title ?? '') : null;
  if (!match) return undefined;
  const [, key, from] = match;
  return { key, from: from === undefined || from === 'none' ? null : Number.parseFloat(from) };
}

function rolloutOf(strategy: Strategy): number {
  const rollout = strategy.parameters?.rollout;
  return rollout === undefined || rollout === null ? 100 : Number(rollout);
}

/**
 * The strategy golive manages and every other strategy that also turns the flag on. A flag set
 * up by hand with one plain gradual rollout (no constraints, no segments) is adopted: golive
 * takes that strategy over rather than adding a second one that would widen the audience.
 */
function sortStrategies(strategies: Strategy[]): { ours: Strategy[]; others: Strategy[] } {
  const ours = strategies.filter((strategy) => golivesMark(strategy) !== undefined);
  const others = strategies.filter((strategy) => !ours.includes(strategy) && strategy.disabled !== true);
  const [only] = others;
  const adoptable = only?.name === 'flexibleRollout' && !only.constraints?.length && !only.segments?.length;
  return ours.length === 0 && others.length === 1 && adoptable ? { ours: others, others: [] } : { ours, others };
}

/** What users of the environment get: the managed strategy's percentage, 0 while the environment is off. */
function effectivePercent(environment: FeatureEnvironment, strategy: Strategy | undefined): number {
  return environment.enabled && strategy !== undefined && strategy.disabled !== true ? rolloutOf(strategy) : 0;
}

export function unleashProvider(target: { name: string; spec: TargetOf<'unleash'> }): FlagProvider {
  const { token } = target.spec;
  /** Unleash never echoes the token, but a message built from its answer is scrubbed all the same. */
  const redact = (text: string) => (token ? text.split(token).join('[token]') : text);
  const fail = (message: string, type: FailureType) => businessFailure(redact(message), type);
  const featurePath = (key: string, rest = '') => `/api/admin/projects/${PROJECT}/features/${encodeURIComponent(key)}${rest}`;

  const explain = (answer: Answer): string => {
    const parsed = UnleashRefusal.safeParse(answer.body);
    const detail = parsed.success ? (parsed.data.details?.[0]?.message ?? parsed.data.message) : undefined;
    return `Unleash answered ${answer.status}${detail ? ` (${detail})` : ''}`;
  };

  /**
   * One Admin API call. A refused token fails at once (no retry can fix it); a lost connection,
   * a timeout, 429 and 5xx throw plainly so Temporal retries; any other answer goes to the caller.
   */
  async function request(context: string, method: string, path: string, body?: unknown): Promise<Answer> {
    let url: string;
    try {
      url = joinUrl(target.spec.url, path);
    } catch {
      throw fail(`target ${target.name}: url is not a valid URL`, 'InvalidTarget');
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: { authorization: token, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: deadlineSignal(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      rethrow(error, redact(`${context}: ${method} ${path} failed`), 'FlagFailed');
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const answer = { status: response.status, body: parsed };
    if (answer.status === 401 || answer.status === 403) {
      const why = answer.status === 401 ? "does not accept the target's token" : "does not let the target's token use the Admin API";
      throw fail(`${context}: Unleash ${why} (HTTP ${answer.status}); an unleash target needs an admin API token`, 'InvalidTarget');
    }
    if (answer.status === 429 || answer.status >= 500) throw new Error(redact(`${context}: ${method} ${path}: ${explain(answer)}`));
    return answer;
  }

  function expectOk(context: string, answer: Answer, what: string): void {
    if (answer.status >= 200 && answer.status < 300) return;
    throw fail(`${context}: ${what}: ${explain(answer)}`, answer.status === 404 ? 'NotFound' : 'FlagFailed');
  }

  /** The feature with every environment's strategies, or undefined when it does not exist (or is archived). */
  async function getFeature(context: string, key: string): Promise<Feature | undefined> {
    const answer = await request(context, 'GET', featurePath(key));
    if (answer.status === 404) return undefined;
    expectOk(context, answer, 'reading the feature');
    const feature = Feature.safeParse(answer.body);
    if (!feature.success) throw fail(`${context}: Unleash's answer for feature ${key} is not a feature (is ${target.name} an Unleash server?)`, 'FlagFailed');
    return feature.data;
  }

  function environmentOf(context: string, feature: Feature, environment: string): FeatureEnvironment {
    const found = feature.environments.find((candidate) => candidate.name === environment);
    if (found) return found;
    const known = feature.environments.map((candidate) => candidate.name).join(', ') || 'none';
    throw fail(`${context}: project ${PROJECT} has no environment ${environment} (it has ${known})`, 'NotFound');
  }

  /** Before creating a feature: an environment missing from the project must not leave a stray feature behind. */
  async function requireEnvironment(context: string, environment: string): Promise<void> {
    const answer = await request(context, 'GET', `/api/admin/environments/project/${PROJECT}`);
    expectOk(context, answer, `listing the environments of project ${PROJECT}`);
    const names = ProjectEnvironments.safeParse(answer.body).data?.environments.map((entry) => entry.name) ?? [];
    if (!names.includes(environment)) {
      throw fail(`${context}: project ${PROJECT} has no environment ${environment} (it has ${names.join(', ') || 'none'})`, 'NotFound');
    }
  }

  /** Creates the feature as a boolean release toggle; true when this call created it, false when another did first. */
  async function createFeature(context: string, key: string): Promise<boolean> {
    const answer = await request(context, 'POST', `/api/admin/projects/${PROJECT}/features`, {
      name: key,
      type: 'release',
      description: 'Rolled out by golive',
    });
    if (answer.status === 409 && (await getFeature(context, key))) return false;
    if (answer.status === 409) throw fail(`${context}: ${explain(answer)}: revive or delete the archived flag in Unleash`, 'Conflict');
    expectOk(context, answer, 'creating the feature');
    return true;
  }

  async function read(key: string, environment: string): Promise<FlagState | undefined> {
    const context = `cannot read flag ${key} in ${environment} on Unleash target ${target.name}`;
    const feature = await getFeature(context, key);
    if (!feature) return undefined;
    const state = environmentOf(context, feature, environment);
    const [strategy] = sortStrategies(state.strategies).ours;
    return { key, environment, enabled: state.enabled, percent: effectivePercent(state, strategy) };
  }

  async function setRollout(change: FlagChange): Promise<FlagChangeResult> {
    const { key, environment, percent, idempotencyKey } = change;
    const context = `cannot set flag ${key} in ${environment} to ${percent}% on Unleash target ${target.name}`;
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw fail(`${context}: a percentage is between 0 and 100`, 'InvalidInput');
    let feature = await getFeature(context, key);
    let created = false;
    if (!feature) {
      await requireEnvironment(context, environment);
      created = await createFeature(context, key);
      feature = await getFeature(context, key);
      if (!feature) throw new Error(`${context}: the feature Unleash just created cannot be read back`);
    }
    const state = environmentOf(context, feature, environment);
    const { ours, others } = sortStrategies(state.strategies);
    if (others.length > 0) {
      const names = others.map((strategy) => strategy.title || strategy.name).join(', ');
      throw fail(
        `${context}: the environment has other strategies that also turn the flag on (${names}); golive manages one flexibleRollout strategy titled "${TITLE}": remove or disable the others in Unleash`,
        'Conflict',
      );
    }
    const [strategy, ...duplicates] = ours;
    const mark = strategy ? golivesMark(strategy) : undefined;
    const retried = idempotencyKey !== undefined && mark?.key === idempotencyKey;
    const before = created || !strategy ? null : effectivePercent(state, strategy);
    const from = retried ? (mark?.from ?? null) : before;
    const title = idempotencyKey === undefined ? TITLE : `${TITLE} (${idempotencyKey}: from ${from === null ? 'none' : `${from}%`})`;
    const strategiesPath = featurePath(key, `/environments/${encodeURIComponent(environment)}/strategies`);
    let writes = 0;

    const otherWrites = duplicates.length > 0 || !state.enabled;
    if (!strategy) {
      const answer = await request(context, 'POST', strategiesPath, {
        name: 'flexibleRollout',
        title,
        constraints: [],
        parameters: { rollout: String(percent), stickiness: 'default', groupId: key },
      });
      expectOk(context, answer, 'adding the rollout strategy');
      writes += 1;
    } else if (rolloutOf(strategy) !== percent || strategy.disabled === true || (otherWrites && strategy.title !== title)) {
      // A patch changes only these fields: stickiness, groupId, constraints and variants stay as they are.
      const answer = await request(context, 'PATCH', `${strategiesPath}/${encodeURIComponent(strategy.id)}`, [
        { op: 'add', path: '/parameters/rollout', value: String(percent) },
        { op: 'add', path: '/title', value: title },
        { op: 'add', path: '/disabled', value: false },
      ]);
      expectOk(context, answer, 'updating the rollout strategy');
      writes += 1;
    }
    for (const duplicate of duplicates) {
      const answer = await request(context, 'DELETE', `${strategiesPath}/${encodeURIComponent(duplicate.id)}`);
      if (answer.status !== 404) expectOk(context, answer, 'removing a duplicate golive strategy');
      writes += 1;
    }
    if (!state.enabled) {
      // Only after golive's strategy exists: enabling an environment without one makes Unleash add its default 100% strategy.
      const answer = await request(context, 'POST', featurePath(key, `/environments/${encodeURIComponent(environment)}/on`));
      expectOk(context, answer, 'enabling the environment');
      writes += 1;
    }
    await confirm(context, key, environment, percent);
    return { key, environment, from, to: percent, changed: retried || writes > 0 };
  }

  /** Reads the flag back from Unleash: the step succeeds only on what Unleash now serves, not on what was sent. */
  async function confirm(context: string, key: string, environment: string, percent: number): Promise<void> {
    const feature = await getFeature(context, key);
    const state = feature ? environmentOf(context, feature, environment) : undefined;
    const ours = state ? sortStrategies(state.strategies).ours : [];
    const now = state ? effectivePercent(state, ours[0]) : undefined;
    if (state?.enabled && ours.length === 1 && now === percent) return;
    const seen = state ? `${state.enabled ? 'enabled' : 'disabled'}, ${ours.length} golive strategies, ${now}%` : 'the feature is gone';
    throw fail(`${context}: Unleash does not confirm the change (it reports ${seen})`, 'NotConfirmed');
  }

  return { setRollout, read };
}
