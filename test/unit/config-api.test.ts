import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/env.ts';

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const TOKEN = `glv_0123456789ab_${'A'.repeat(43)}`;

describe('API and OIDC settings', () => {
  it('leaves OIDC and the remote API off by default', () => {
    const config = loadConfig({});
    expect([config.oidc, config.remote]).toEqual([undefined, undefined]);
  });

  it('reads the OIDC provider, with sub as the default user claim', () => {
    expect(loadConfig({ GOLIVE_OIDC_ISSUER: 'https://login.example.com/realms/ops', GOLIVE_OIDC_AUDIENCE: 'golive' }).oidc)
      .toEqual({ issuer: 'https://login.example.com/realms/ops', audience: 'golive', userClaim: 'sub', jwksUrl: undefined });
    expect(loadConfig({
      GOLIVE_OIDC_ISSUER: 'https://login.example.com', GOLIVE_OIDC_AUDIENCE: 'golive', GOLIVE_OIDC_USER_CLAIM: 'email', GOLIVE_OIDC_JWKS_URL: 'https://login.example.com/keys',
    }).oidc).toEqual({ issuer: 'https://login.example.com', audience: 'golive', userClaim: 'email', jwksUrl: 'https://login.example.com/keys' });
  });

  it('reads the server the CLI talks to, without a trailing slash', () => {
    expect(loadConfig({ GOLIVE_URL: 'https://golive.internal:8080/', GOLIVE_TOKEN: TOKEN }).remote).toEqual({ url: 'https://golive.internal:8080', token: TOKEN });
  });

  it.each([
    [{ GOLIVE_OIDC_ISSUER: 'https://login.example.com' }, 'GOLIVE_OIDC_AUDIENCE: must be set when GOLIVE_OIDC_ISSUER is'],
    [{ GOLIVE_OIDC_AUDIENCE: 'golive' }, 'GOLIVE_OIDC_ISSUER: must be set when GOLIVE_OIDC_AUDIENCE is'],
    [{ GOLIVE_OIDC_ISSUER: 'login.example.com', GOLIVE_OIDC_AUDIENCE: 'golive' }, 'GOLIVE_OIDC_ISSUER: must be a URL like'],
    [{ GOLIVE_URL: 'https://golive.internal' }, 'GOLIVE_TOKEN: must be set when GOLIVE_URL is'],
    [{ GOLIVE_TOKEN: TOKEN }, 'GOLIVE_URL: must be set when GOLIVE_TOKEN is'],
    [{ GOLIVE_URL: 'golive.internal:8080', GOLIVE_TOKEN: TOKEN }, 'GOLIVE_URL: must be a URL like'],
  ])('fails naming the variable for %j', (env, expected) => {
    expect(failure(env)).toContain(expected);
  });

  it('refuses a GOLIVE_TOKEN that is not a golive token without echoing it', () => {
    const message = failure({ GOLIVE_URL: 'https://golive.internal', GOLIVE_TOKEN: 'hunter2-secret' });
    expect(message).toContain('GOLIVE_TOKEN: must be a golive API token');
    expect(message).not.toContain('hunter2');
  });
});
