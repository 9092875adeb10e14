import { ApplicationFailure } from '@temporalio/common';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unleashProvider } from '../../activities/flags/unleash.ts';
import type { FlagChange } from '../../activities/flags/provider.ts';
import { freePort } from '../../stack/process.ts';
import { uniqueId } from '../support/db.ts';
import { until } from '../support/poll.ts';
import { actionRequest, testActivities } from '../support/actions.ts';
import { startUnleash, type UnleashServer } from '../support/unleash.ts';

const ENVIRONMENT = 'production';
const USERS = Array.from({ length: 1_000 }, (_, index) => `user-${index}`);

let unleash: UnleashServer;
let sdk: Unleash;

const providerWith = (token: string, url = unleash.url) =>
  unleashProvider({ name: 'feature-flags', spec: { type: 'unleash', url, token } });
const change = (key: string, percent: number, extra: Partial<FlagChange> = {}): FlagChange => ({
  key,
  environment: ENVIRONMENT,
  percent,
  actor: 'alice@example.com',
  ...extra,
});

/** The Admin API's own view of the flag in the environment, fetched by hand rather than through the provider. */
async function adminView(key: string) {
  const response = await fetch(`${unleash.url}/api/admin/projects/default/features/${key}/environments/${ENVIRONMENT}`, {
    headers: { authorization: unleash.adminToken },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { enabled: boolean; strategies: { id: string; name: string; title: string | null; parameters: Record<string, string> }[] };
}

async function eventCount(key: string): Promise<number> {
  const response = await fetch(`${unleash.url}/api/admin/events/${key}`, { headers: { authorization: unleash.adminToken } });
  return ((await response.json()) as { events: unknown[] }).events.length;
}

/** Waits until the SDK has fetched `percent`, then evaluates every user: the ones it lets in. */
async function usersEnabledBySdk(key: string, percent: number): Promise<Set<string>> {
  await until(
    async () => {
      const definition = sdk.getFeatureToggleDefinition(key);
      return definition?.enabled && definition.strategies?.[0]?.parameters?.rollout === String(percent) ? true : undefined;
    },
    10_000,
    `the SDK never saw ${key} at ${percent}%`,
    50,
  );
  return new Set(USERS.filter((userId) => sdk.isEnabled(key, { userId })));
}

beforeAll(async () => {
  unleash = await startUnleash(ENVIRONMENT);
  console.log(`unleash-server answered /health ${unleash.startMs} ms after its process started`);
  sdk = new Unleash({
    appName: 'golive-flags-test',
    url: `${unleash.url}/api/`,
    customHeaders: { Authorization: unleash.clientToken },
    refreshInterval: 250,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  await new Promise<void>((resolve, reject) => {
    sdk.once('synchronized', () => resolve());
    sdk.once('error', reject);
  });
});

afterAll(async () => {
  sdk?.destroy();
  await unleash?.stop();
});

describe('the Unleash flag provider', () => {
  it('rolls a new flag out 10 → 50 → 100%, as the Admin API and the SDK both see it, keeping users in', async () => {
    // A fixed key (the server is this file's own): users' buckets, and so the shares, are the same on every run.
    const key = 'checkout-v2';
    const provider = providerWith(unleash.adminToken);
    const enabledAt = new Map<number, Set<string>>();
    let previous: number | null = null;
    for (const [phase, percent] of [10, 50, 100].entries()) {
      const result = await provider.setRollout(change(key, percent, { idempotencyKey: `run-1:phase-${phase}` }));
      expect(result).toEqual({ key, environment: ENVIRONMENT, from: previous, to: percent, changed: true });

      const view = await adminView(key);
      expect(view.enabled).toBe(true);
      expect(view.strategies).toHaveLength(1);
      expect(view.strategies[0]).toMatchObject({
        name: 'flexibleRollout',
        parameters: { rollout: String(percent), stickiness: 'default', groupId: key },
      });
      expect(await provider.read(key, ENVIRONMENT)).toEqual({ key, environment: ENVIRONMENT, enabled: true, percent });

      const enabled = await usersEnabledBySdk(key, percent);
      expect(Math.abs((enabled.size / USERS.length) * 100 - percent)).toBeLessThanOrEqual(5);
      enabledAt.set(percent, enabled);
      previous = percent;
    }
    for (const userId of enabledAt.get(10) ?? []) expect(enabledAt.get(50)?.has(userId)).toBe(true);
    for (const userId of enabledAt.get(50) ?? []) expect(enabledAt.get(100)?.has(userId)).toBe(true);
  });

  it('changes nothing when the flag already has the percentage', async () => {
    const key = uniqueId('search-ranking');
    const provider = providerWith(unleash.adminToken);
    await provider.setRollout(change(key, 20, { idempotencyKey: 'run-2:phase-0' }));
    const events = await eventCount(key);
    expect(await provider.setRollout(change(key, 20, { idempotencyKey: 'run-3:phase-0' }))).toEqual({
      key,
      environment: ENVIRONMENT,
      from: 20,
      to: 20,
      changed: false,
    });
    expect(await provider.setRollout(change(key, 20))).toMatchObject({ from: 20, changed: false });
    expect(await eventCount(key)).toBe(events);
  });

  it('answers a retried step with its first attempt\'s from, writing nothing more', async () => {
    const key = uniqueId('new-pricing');
    const provider = providerWith(unleash.adminToken);
    await provider.setRollout(change(key, 10, { idempotencyKey: 'run-4:phase-0' }));
    const first = await provider.setRollout(change(key, 50, { idempotencyKey: 'run-4:phase-1' }));
    const events = await eventCount(key);
    const retry = await provider.setRollout(change(key, 50, { idempotencyKey: 'run-4:phase-1' }));
    expect(first).toEqual({ key, environment: ENVIRONMENT, from: 10, to: 50, changed: true });
    expect(retry).toEqual(first);
    expect(await eventCount(key)).toBe(events);
    expect((await adminView(key)).strategies[0]?.title).toBe('golive rollout (run-4:phase-1: from 10%)');
  });

  it('takes over a plain gradual rollout set up by hand, and refuses to add to other strategies', async () => {
    const provider = providerWith(unleash.adminToken);
    const admin = (method: string, path: string, body: unknown) =>
      fetch(`${unleash.url}/api/admin/projects/default${path}`, {
        method,
        headers: { authorization: unleash.adminToken, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const handMade = uniqueId('hand-made');
    await admin('POST', '/features', { name: handMade, type: 'release' });
    const strategiesPath = `/features/${handMade}/environments/${ENVIRONMENT}/strategies`;
    const existing = (await (await admin('POST', strategiesPath, { name: 'flexibleRollout', parameters: { rollout: '0' } })).json()) as { id: string };
    expect(await provider.setRollout(change(handMade, 30))).toMatchObject({ from: 0, to: 30, changed: true });
    expect((await adminView(handMade)).strategies).toEqual([expect.objectContaining({ id: existing.id, title: 'golive rollout' })]);

    const internal = { name: 'default', title: 'internal users', constraints: [{ contextName: 'userId', operator: 'IN', values: ['ceo'] }] };
    expect((await admin('POST', strategiesPath, internal)).status).toBe(200);
    await expect(provider.setRollout(change(handMade, 60))).rejects.toMatchObject({
      type: 'Conflict',
      nonRetryable: true,
      message: expect.stringMatching(/other strategies that also turn the flag on \(internal users\)/),
    });
  });

  it('fails at once, naming the target and never the token, when Unleash refuses the token', async () => {
    const wrongToken = '*:*.0123456789abcdef0123456789abcdef';
    for (const token of [wrongToken, unleash.clientToken]) {
      const failure = await providerWith(token).setRollout(change(uniqueId('refused'), 10)).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'InvalidTarget', nonRetryable: true, message: expect.stringContaining('target feature-flags') });
      expect(String(failure)).not.toContain(token);
      expect(JSON.stringify(failure)).not.toContain(token);
    }
  });

  it('names the environment Unleash does not have, and creates no feature for it', async () => {
    const key = uniqueId('staging-only');
    await expect(providerWith(unleash.adminToken).setRollout({ ...change(key, 10), environment: 'staging' })).rejects.toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
      message: expect.stringMatching(/project default has no environment staging \(it has development, production\)/),
    });
    expect(await providerWith(unleash.adminToken).read(key, ENVIRONMENT)).toBeUndefined();
  });

  it('leaves an unreachable Unleash to Temporal to retry', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const failure = await providerWith(unleash.adminToken, closed).setRollout(change('any', 10)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(ApplicationFailure);
    expect(String(failure)).toMatch(/ECONNREFUSED/);
  });

  it('is what a flag.set-rollout step with provider unleash runs, its token resolved from the worker', async () => {
    const key = uniqueId('catalog-flag');
    const activities = testActivities({ UNLEASH_TOKEN: unleash.adminToken });
    const targets = { flags: { type: 'unleash' as const, url: unleash.url, token: '${UNLEASH_TOKEN}' } };
    const request = actionRequest('flag.set-rollout', { key, environment: ENVIRONMENT, percent: 25, provider: 'unleash', unleash: 'flags' }, { targets });
    const first = await activities['flag.set-rollout'](request);
    expect(first).toEqual({ provider: 'unleash', key, environment: ENVIRONMENT, from: null, to: 25, changed: true });
    expect(await activities['flag.set-rollout'](request)).toEqual(first);
    expect((await adminView(key)).strategies[0]?.parameters.rollout).toBe('25');
  });
});
