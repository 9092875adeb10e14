import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/env.ts';
import { parseRoles } from '../../definitions/roles.ts';
import { OWN_VARIABLES } from '../../definitions/target-env.ts';

/** The message loadConfig fails with for this environment. */
function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('gives every setting its default when the environment sets nothing', () => {
    expect(loadConfig({})).toEqual({
      temporal: { address: undefined, namespace: 'default', taskQueue: 'golive', apiKey: undefined, tls: false },
      databaseUrl: undefined,
      http: { host: '127.0.0.1', port: 8080 },
      roles: {},
      user: undefined,
      home: '.golive',
      logLevel: 'info',
      tools: { temporalCli: undefined, pgBin: undefined, nginxBin: 'nginx' },
      targetEnv: { deny: OWN_VARIABLES },
      runbooksDir: 'runbooks',
      checklistsDir: 'checklists',
      rolloutsDir: 'rollouts',
      slack: { token: undefined, channel: undefined, apiUrl: 'https://slack.com/api/', signingSecret: undefined, appToken: undefined, socketMode: false, groupRoles: {} },
    });
  });

  it('reads each variable into its setting', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'golive-prod', TEMPORAL_API_KEY: 'tk-1', TEMPORAL_TLS: 'true',
      GOLIVE_TASK_QUEUE: 'dr', DATABASE_URL: 'postgresql://golive@db.internal/golive', GOLIVE_HTTP_HOST: '0.0.0.0', GOLIVE_HTTP_PORT: '9090',
      GOLIVE_ROLES: 'rita=release-manager', GOLIVE_USER: 'rita', GOLIVE_HOME: '/var/lib/golive', GOLIVE_LOG_LEVEL: 'debug',
      TEMPORAL_CLI: '/opt/temporal', GOLIVE_PG_BIN: '/usr/lib/postgresql/16/bin', GOLIVE_NGINX_BIN: '/usr/sbin/nginx',
      GOLIVE_TARGET_ENV_ALLOW: 'ORDERS_*, UNLEASH_TOKEN',
      GOLIVE_RUNBOOKS_DIR: '/etc/golive/runbooks', SLACK_BOT_TOKEN: 'xoxb-1-2-abc', GOLIVE_SLACK_CHANNEL: 'C0DRILLS1', SLACK_API_URL: 'http://127.0.0.1:9000/api/',
      SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99aaaaaa85a5', SLACK_APP_TOKEN: 'xapp-1-A1-1-abc', GOLIVE_SLACK_SOCKET_MODE: 'true', GOLIVE_SLACK_GROUP_ROLES: 'S0614TZR7=incident-commander',
    });
    expect(config).toEqual({
      temporal: { address: 'temporal.internal:7233', namespace: 'golive-prod', taskQueue: 'dr', apiKey: 'tk-1', tls: true },
      databaseUrl: 'postgresql://golive@db.internal/golive',
      http: { host: '0.0.0.0', port: 9090 },
      roles: { rita: ['release-manager'] },
      user: 'rita',
      home: '/var/lib/golive',
      logLevel: 'debug',
      tools: { temporalCli: '/opt/temporal', pgBin: '/usr/lib/postgresql/16/bin', nginxBin: '/usr/sbin/nginx' },
      targetEnv: { deny: OWN_VARIABLES, allow: ['ORDERS_*', 'UNLEASH_TOKEN'] },
      runbooksDir: '/etc/golive/runbooks',
      checklistsDir: 'checklists',
      rolloutsDir: 'rollouts',
      slack: {
        token: 'xoxb-1-2-abc', channel: 'C0DRILLS1', apiUrl: 'http://127.0.0.1:9000/api/',
        signingSecret: '8f742231b10e8888abcd99aaaaaa85a5', appToken: 'xapp-1-A1-1-abc', socketMode: true, groupRoles: { S0614TZR7: ['incident-commander'] },
      },
    });
  });

  it('treats empty and blank values as unset', () => {
    const blank = { GOLIVE_HTTP_PORT: '', TEMPORAL_ADDRESS: '', DATABASE_URL: '  ', TEMPORAL_API_KEY: ' ', GOLIVE_LOG_LEVEL: '', GOLIVE_ROLES: '' };
    expect(loadConfig(blank)).toEqual(loadConfig({}));
  });

  it.each([
    ['GOLIVE_HTTP_PORT', 'abc', 'must be a port number 0-65535'],
    ['GOLIVE_HTTP_PORT', '70000', 'must be a port number 0-65535'],
    ['GOLIVE_HTTP_PORT', '1e3', 'must be a port number 0-65535'],
    ['TEMPORAL_ADDRESS', 'nohostport', 'must be HOST:PORT'],
    ['SLACK_BOT_TOKEN', 'hunter2', 'must be a Slack bot token (xoxb-...)'],
    ['SLACK_API_URL', 'slack', 'must be a URL like https://slack.com/api/'],
    ['GOLIVE_SLACK_CHANNEL', '#dr-drills', 'must be a Slack channel ID like C0123ABCD'],
    ['SLACK_APP_TOKEN', 'xoxb-1', 'must be a Slack app-level token (xapp-...)'],
    ['GOLIVE_SLACK_GROUP_ROLES', 'alice=approver', 'alice: must be Slack user group IDs like S0614TZR7'],
    ['DATABASE_URL', 'mysql://x', 'must start with postgres://'],
    ['GOLIVE_LOG_LEVEL', 'loud', 'expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"'],
    ['TEMPORAL_TLS', 'yes', 'expected one of "true"|"false"'],
  ])('fails naming %s when it is %j', (name, value, expected) => {
    const message = failure({ [name]: value });
    expect(message).toContain(`${name}: `);
    expect(message).toContain(expected);
    expect(message).toContain('see .env.example');
  });

  it('lists every wrong variable at once', () => {
    const message = failure({ GOLIVE_HTTP_PORT: 'abc', GOLIVE_LOG_LEVEL: 'loud', GOLIVE_ROLES: 'bob=admin' });
    expect(message.split('\n').filter((line) => line.startsWith('  ')).map((line) => line.trim().split(':')[0]))
      .toEqual(['GOLIVE_HTTP_PORT', 'GOLIVE_ROLES', 'GOLIVE_LOG_LEVEL']);
  });

  it('never echoes a secret in its error, whatever else is wrong', () => {
    const secrets = { TEMPORAL_API_KEY: 'tk-s3cr3t-api-key', DATABASE_URL: 'mysql://golive:hunter2-db-password@db.internal/golive' };
    const message = failure({
      ...secrets, TEMPORAL_ADDRESS: 'tk-s3cr3t-api-key', GOLIVE_HTTP_PORT: 'hunter2-db-password', GOLIVE_LOG_LEVEL: 'hunter2-db-password',
    });
    expect(message).toContain('DATABASE_URL: must start with postgres://');
    for (const secret of ['tk-s3cr3t', 'hunter2', 'golive:']) expect(message).not.toContain(secret);
  });
});

describe('GOLIVE_ROLES', () => {
  it('maps users to one or more roles joined with +', () => {
    expect(loadConfig({ GOLIVE_ROLES: 'rita=release-manager+approver, U024BE7LH = incident-commander' }).roles).toEqual({
      rita: ['release-manager', 'approver'],
      U024BE7LH: ['incident-commander'],
    });
  });

  it('merges the roles of a user named twice, without duplicates', () => {
    expect(parseRoles('rita=approver,ivan=incident-commander,rita=release-manager+approver')).toEqual({
      rita: ['approver', 'release-manager'],
      ivan: ['incident-commander'],
    });
  });

  it('names an unknown role and the roles golive knows', () => {
    expect(failure({ GOLIVE_ROLES: 'rita=approver,bob=admin+approver' }))
      .toContain('GOLIVE_ROLES: "bob=admin+approver": unknown role admin (known: release-manager, incident-commander, approver)');
  });

  it.each(['bob', 'bob=', '=approver', 'bob=approver=release-manager', 'bob=approver+', 'bob=+approver'])(
    'names the malformed entry %j',
    (entry) => {
      expect(failure({ GOLIVE_ROLES: `rita=approver,${entry}` })).toContain(`GOLIVE_ROLES: "${entry}" must be USER=ROLE[+ROLE...]`);
    },
  );

  it('ignores empty entries and surrounding commas', () => {
    expect(parseRoles(',rita=approver,,')).toEqual({ rita: ['approver'] });
  });
});
