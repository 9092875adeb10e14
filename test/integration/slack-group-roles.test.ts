import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.ts';
import type { RoleMap } from '../../definitions/roles.ts';
import { createConfiguredRoleDirectory, createRoleDirectory } from '../../runtime/roles.ts';
import { createSlackGroupMembers } from '../../runtime/slack-groups.ts';
import { migrate } from '../../store/migrate.ts';
import { createPgIdentityStore, type IdentityStore } from '../../store/identity.ts';
import { createTestDatabase } from '../support/db.ts';
import { startSlackApi, type SlackApi } from '../support/slack.ts';

const TOKEN = 'xoxb-group-roles-0000-secret';
const INCIDENT_COMMANDERS = 'S0614TZR7';
const APPROVERS = 'S0APPROVE1';
const GROUP_ROLES: RoleMap = { [INCIDENT_COMMANDERS]: ['incident-commander', 'approver'], [APPROVERS]: ['approver'] };

let slack: SlackApi;
let database: { url: string; drop(): Promise<void> };
let pool: pg.Pool;
let identity: IdentityStore;
let home: string;
let warnings: string[];
const logger = { warn: (_fields: object, message: string) => void warnings.push(message) };

beforeAll(async () => {
  slack = await startSlackApi(TOKEN, {
    groups: { [INCIDENT_COMMANDERS]: ['U0INES', 'U0IRENE'], [APPROVERS]: ['U0ANA'], S0BROKEN1: ['U0BRUNO'] },
    misbehave: (_channel, _tries, method) => (method === 'usergroups.users.list' && slack.received.at(-1)?.body.usergroup === 'S0BROKEN1' ? { status: 503, body: { ok: false, error: 'service_unavailable' } } : undefined),
  });
  database = await createTestDatabase('slack_group_roles');
  pool = new pg.Pool({ connectionString: database.url });
  await migrate(pool);
  identity = createPgIdentityStore(pool);
  home = await mkdtemp(join(tmpdir(), 'golive-group-roles-'));
});

afterAll(async () => {
  await slack?.close();
  await pool?.end();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

beforeEach(() => {
  slack.received.length = 0;
  warnings = [];
});

const lookups = () => slack.calls('usergroups.users.list').map((call) => call.usergroup);

function directory(groupRoles: RoleMap = GROUP_ROLES, apiUrl = slack.apiUrl, token = TOKEN) {
  return createRoleDirectory({ U0RITA: ['release-manager'] }, undefined, logger, { roles: groupRoles, source: createSlackGroupMembers({ token, apiUrl, logger }) });
}

describe('Slack user groups in the role directory', () => {
  it("gives a member of a user group the group's roles, besides their own", async () => {
    const roles = directory();
    expect((await roles.rolesOf('U0INES')).sort()).toEqual(['approver', 'incident-commander']);
    expect(await roles.rolesOf('U0ANA')).toEqual(['approver']);
    expect(await roles.rolesOf('U0RITA')).toEqual(['release-manager']);
    expect(slack.received.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('gives someone in no group no role from groups', async () => {
    expect(await directory().rolesOf('U0STRANGER')).toEqual([]);
  });

  it("names a group's members among the holders of its roles", async () => {
    const roles = directory();
    expect(await roles.holders(['incident-commander'])).toEqual(['U0INES', 'U0IRENE']);
    expect(await roles.holders(['approver', 'release-manager'])).toEqual(['U0ANA', 'U0INES', 'U0IRENE', 'U0RITA']);
    expect(lookups()).toEqual([INCIDENT_COMMANDERS, APPROVERS]);
  });

  it('answers a second look-up within a minute from what Slack said the first time', async () => {
    const roles = directory();
    await roles.rolesOf('U0INES');
    await roles.rolesOf('U0IRENE');
    await roles.holders(['incident-commander']);
    expect(lookups().sort()).toEqual([INCIDENT_COMMANDERS, APPROVERS]);
  });

  it('asks Slack again once the minute is over', async () => {
    let clock = 1_000_000;
    const members = createSlackGroupMembers({ token: TOKEN, apiUrl: slack.apiUrl, now: () => clock });
    expect(await members.members(INCIDENT_COMMANDERS)).toEqual(['U0INES', 'U0IRENE']);
    clock += 59_000;
    await members.members(INCIDENT_COMMANDERS);
    expect(lookups()).toHaveLength(1);
    clock += 2_000;
    await members.members(INCIDENT_COMMANDERS);
    expect(lookups()).toHaveLength(2);
  });

  it('gives no role from a group Slack refuses to list, says so without the token, and does not throw', async () => {
    const roles = directory({ S0UNKNOWN: ['incident-commander'] });
    expect(await roles.rolesOf('U0INES')).toEqual([]);
    expect(await roles.holders(['incident-commander'])).toEqual([]);
    expect(warnings[0]).toBe('cannot read the members of Slack user group S0UNKNOWN: Slack answered no_such_subteam; it gives nobody a role until Slack answers (GOLIVE_SLACK_GROUP_ROLES)');
    expect(warnings.join('\n')).not.toContain(TOKEN);
  });

  it('gives no role from groups when Slack answers with an outage, and asks again next time instead of keeping the failure', async () => {
    const roles = directory({ S0BROKEN1: ['approver'] });
    expect(await roles.rolesOf('U0BRUNO')).toEqual([]);
    expect(await roles.rolesOf('U0BRUNO')).toEqual([]);
    expect(lookups()).toEqual(['S0BROKEN1', 'S0BROKEN1']);
    expect(warnings).toHaveLength(2);
  });

  it('gives no role from groups when Slack cannot be reached, and keeps the roles from GOLIVE_ROLES', async () => {
    const gone = await startSlackApi(TOKEN);
    await gone.close();
    const roles = directory(GROUP_ROLES, gone.apiUrl);
    expect(await roles.rolesOf('U0INES')).toEqual([]);
    expect(await roles.rolesOf('U0RITA')).toEqual(['release-manager']);
    expect(await roles.holders(['approver'])).toEqual([]);
    expect(warnings[0]).toMatch(/^cannot read the members of Slack user group S0614TZR7: Slack did not answer \(.+\); it gives nobody a role/);
  });

  it('gives no role from groups when the bot token is refused', async () => {
    const roles = directory(GROUP_ROLES, slack.apiUrl, 'xoxb-revoked');
    expect(await roles.rolesOf('U0INES')).toEqual([]);
    expect(warnings).toContain('cannot read the members of Slack user group S0614TZR7: Slack answered invalid_auth; it gives nobody a role until Slack answers (GOLIVE_SLACK_GROUP_ROLES)');
  });
});

describe("the worker's and server's role directory, from the environment", () => {
  const environment = (extra: NodeJS.ProcessEnv) => loadConfig({ GOLIVE_HOME: join(home, '.golive'), SLACK_API_URL: slack.apiUrl, ...extra });

  it('holds GOLIVE_ROLES, grants in Postgres and user groups together', async () => {
    await identity.grantRole('U0GRANTED', 'release-manager', { name: 'ops', channel: 'cli' });
    const config = environment({ GOLIVE_ROLES: 'U0RITA=release-manager', SLACK_BOT_TOKEN: TOKEN, GOLIVE_SLACK_GROUP_ROLES: `${INCIDENT_COMMANDERS}=incident-commander+approver` });
    const roles = createConfiguredRoleDirectory(config, identity, logger);
    expect((await roles.rolesOf('U0IRENE')).sort()).toEqual(['approver', 'incident-commander']);
    expect(await roles.holders(['release-manager', 'incident-commander'])).toEqual(['U0GRANTED', 'U0INES', 'U0IRENE', 'U0RITA']);
    expect(warnings).toEqual([]);
  });

  it('is refused at start-up when GOLIVE_SLACK_GROUP_ROLES is set without SLACK_BOT_TOKEN, naming both', () => {
    expect(() => environment({ GOLIVE_SLACK_GROUP_ROLES: `${INCIDENT_COMMANDERS}=incident-commander` }))
      .toThrow('SLACK_BOT_TOKEN: must be set when GOLIVE_SLACK_GROUP_ROLES is: group members are read from Slack with it');
    expect(lookups()).toEqual([]);
  });
});
