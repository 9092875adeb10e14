import { describe, expect, it } from 'vitest';
import { parseInput, stepTarget } from '../../activities/call.ts';
import { ConfigError, loadConfig } from '../../config/env.ts';
import { targetEnvPolicy, type ResolvingProcess, type TargetEnvPolicy } from '../../definitions/target-env.ts';
import { resolveTarget, type Target } from '../../definitions/targets.ts';
import { actionRequest } from '../support/actions.ts';

/** The worker's environment: golive's own secrets beside the variables of the systems runbooks reach. */
const ENV = {
  AWS_SECRET_ACCESS_KEY: 'aws-s3cr3t',
  aws_secret_access_key: 'aws-lower-s3cr3t',
  DATABASE_URL: 'postgres://golive:golive-s3cr3t@db/golive',
  PGPASSWORD: 'pg-s3cr3t',
  ORDERS_DB_URL: 'postgres://orders@db/orders',
  ORDERS_API_URL: 'https://orders.internal',
  UNLEASH_TOKEN: 'unleash-token',
  UNLEASH_TOKEN_OLD: 'old-unleash-token',
  PAYMENTS_URL: 'https://payments.internal',
};
const SECRETS = /s3cr3t|unleash-token/;

const http = (url: string): Target => ({ type: 'http', url });

/** The message resolveTarget fails with, as a business failure of `type`; it must never carry a value. */
function failureOf(spec: Target, type: string, policy = targetEnvPolicy(), resolvedIn?: ResolvingProcess): string {
  try {
    resolveTarget('api', spec, ENV, policy, resolvedIn);
  } catch (error) {
    expect(error).toMatchObject({ type, nonRetryable: true });
    const message = (error as Error).message;
    expect(message).not.toMatch(SECRETS);
    return message;
  }
  throw new Error(`resolveTarget accepted ${JSON.stringify(spec)}`);
}

const refusedWith = (spec: Target, policy?: TargetEnvPolicy) => failureOf(spec, 'InvalidTarget', policy);

describe('resolveTarget on a worker', () => {
  it("refuses golive's own variables whatever the allow list says, naming target, field and variable", () => {
    expect(refusedWith(http('https://x/?k=${AWS_SECRET_ACCESS_KEY}'))).toBe(
      "target api: ${AWS_SECRET_ACCESS_KEY} (used in url) names golive's own credentials: this worker does not resolve it",
    );
    expect(refusedWith(http('${DATABASE_URL}'), targetEnvPolicy(['D*']))).toMatch(/^target api: \$\{DATABASE_URL\} \(used in url\) names golive's own credentials/);
    expect(refusedWith({ type: 'postgres', url: '${ORDERS_DB_URL}', description: '${PGPASSWORD}' })).toMatch(/\$\{PGPASSWORD\} \(used in description\)/);
    expect(refusedWith(http('https://x/?k=${aws_secret_access_key}'))).toMatch(/names golive's own credentials/);
  });

  it('resolves any other name when the worker has no allow list', () => {
    expect(resolveTarget('api', http('${PAYMENTS_URL}/v1'), ENV, targetEnvPolicy())).toEqual(http('https://payments.internal/v1'));
  });

  it('resolves only the allow list when there is one, PREFIX_* matching by prefix', () => {
    const policy = targetEnvPolicy(['ORDERS_*', 'UNLEASH_TOKEN']);
    expect(resolveTarget('orders', { type: 'postgres', url: '${ORDERS_DB_URL}' }, ENV, policy)).toEqual({ type: 'postgres', url: ENV.ORDERS_DB_URL });
    expect(resolveTarget('flags', { type: 'unleash', url: '${ORDERS_API_URL}', token: '${UNLEASH_TOKEN}' }, ENV, policy)).toMatchObject({ token: ENV.UNLEASH_TOKEN });
    expect(refusedWith(http('${PAYMENTS_URL}'), policy)).toBe(
      "target api: ${PAYMENTS_URL} (used in url) is not in this worker's GOLIVE_TARGET_ENV_ALLOW (ORDERS_*, UNLEASH_TOKEN): this worker does not resolve it",
    );
    expect(refusedWith({ type: 'unleash', url: '${ORDERS_API_URL}', token: '${UNLEASH_TOKEN_OLD}' }, policy)).toMatch(/\$\{UNLEASH_TOKEN_OLD\} \(used in token\) is not in/);
  });

  it('is what an action step resolves its targets with', () => {
    const request = actionRequest('http.check', {}, { target: { name: 'api', spec: http('${PAYMENTS_URL}') } });
    const allowed = parseInput('http.check', request, ENV, targetEnvPolicy(['PAYMENTS_*']));
    expect(stepTarget(allowed, 'http').spec).toEqual(http(ENV.PAYMENTS_URL));
    const limited = parseInput('http.check', request, ENV, targetEnvPolicy(['ORDERS_*']));
    expect(() => stepTarget(limited, 'http')).toThrow(/^target api: \$\{PAYMENTS_URL\} \(used in url\) is not in this worker's GOLIVE_TARGET_ENV_ALLOW/);
    const unconfigured = parseInput('http.check', actionRequest('http.check', {}, { target: { name: 'api', spec: http('${SLACK_BOT_TOKEN}') } }), ENV);
    expect(() => stepTarget(unconfigured, 'http')).toThrow(/names golive's own credentials/);
  });
});

describe('GOLIVE_TARGET_ENV_ALLOW and GOLIVE_NGINX_BIN', () => {
  const failure = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('loadConfig accepted it');
  };

  it('reads the allow list and the nginx executable', () => {
    const config = loadConfig({ GOLIVE_TARGET_ENV_ALLOW: ' ORDERS_*,UNLEASH_TOKEN ,', GOLIVE_NGINX_BIN: '/opt/nginx/sbin/nginx' });
    expect(config.targetEnv.allow).toEqual(['ORDERS_*', 'UNLEASH_TOKEN']);
    expect(config.tools.nginxBin).toBe('/opt/nginx/sbin/nginx');
    expect(loadConfig({}).targetEnv.allow).toBeUndefined();
    expect(loadConfig({}).tools.nginxBin).toBe('nginx');
  });

  it.each([
    ['ORDERS-DB', '"ORDERS-DB" is not a variable name or PREFIX_*'],
    ['ORDERS_*,AWS_*', "AWS_* names golive's own credentials (AWS_*), which targets may never use"],
    ['PGPASSWORD', "PGPASSWORD names golive's own credentials (PG*), which targets may never use"],
    [' , ', "lists no names: leave it unset to allow any name but golive's own"],
  ])('fails naming the variable when it is %j', (value, expected) => {
    expect(failure({ GOLIVE_TARGET_ENV_ALLOW: value })).toContain(`GOLIVE_TARGET_ENV_ALLOW: ${expected}`);
  });
});

describe('which process a message says lacks a variable', () => {
  const demo = "`golive dev`, which loads the demo's variables from GOLIVE_HOME/demo.env";
  const missing = (url: string, resolvedIn?: ResolvingProcess) => failureOf(http(url), 'MissingEnvironment', targetEnvPolicy(), resolvedIn);

  it('says "on this worker" when no process is named, and how the demo worker gets its variables', () => {
    expect(missing('${ORDERS_REPLICA_URL}')).toBe('target api: environment variable ORDERS_REPLICA_URL (used in url) is not set on this worker');
    expect(missing('${DEMO_ORDERS_URL}', 'worker')).toBe(
      `target api: environment variable DEMO_ORDERS_URL (used in url) is not set on this worker: start the worker with ${demo}`,
    );
  });

  it("says \"in this golive CLI's environment\" for the CLI, with what to do", () => {
    expect(missing('${ORDERS_REPLICA_URL}', 'cli')).toBe(
      "target api: environment variable ORDERS_REPLICA_URL (used in url) is not set in this golive CLI's environment: export it and run the command again",
    );
    expect(missing('${DEMO_ORDERS_URL}', 'cli')).toBe(
      `target api: environment variable DEMO_ORDERS_URL (used in url) is not set in this golive CLI's environment: export it, or run ${demo}`,
    );
  });

  it("names the CLI's allow list and the CLI when it refuses a name", () => {
    expect(failureOf(http('${PAYMENTS_URL}'), 'InvalidTarget', targetEnvPolicy(['ORDERS_*']), 'cli')).toBe(
      "target api: ${PAYMENTS_URL} (used in url) is not in this golive CLI's GOLIVE_TARGET_ENV_ALLOW (ORDERS_*): this golive CLI does not resolve it",
    );
    expect(failureOf(http('${PGPASSWORD}'), 'InvalidTarget', targetEnvPolicy(), 'cli')).toMatch(/credentials: this golive CLI does not resolve it$/);
  });
});
