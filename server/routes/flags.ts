import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RoleDirectory } from '../../definitions/roles.ts';
import type { FlagStore } from '../../store/flags.ts';
import { strictBody } from '../api-schemas.ts';
import { principalOf } from '../auth.ts';
import { ApiError, errorResponses } from '../errors.ts';
import {
  CreatedFlagKeyShape, FlagDetailShape, FlagKeyListShape, FlagListShape, FlagUpdateShape, Percent, RevokedFlagKeyShape, flagName,
} from '../flag-schemas.ts';

const DEFAULT_ENVIRONMENT = 'production';
const FLAG_ROLE = 'release-manager';

const KeyParams = z.object({ key: flagName('flag key') });
const EnvironmentQuery = z.object({ environment: flagName('environment').optional().describe(`default ${DEFAULT_ENVIRONMENT}`) });

const ChangeFlagBody = strictBody({
  percent: Percent.optional(),
  enabled: z.boolean().optional().describe('false switches the flag off for everyone; true back on at its percentage'),
  environment: flagName('environment').optional().describe(`default ${DEFAULT_ENVIRONMENT}`),
  comment: z.string().min(1).max(2_000).optional().describe('why; kept in the flag\'s audit'),
}).refine((body) => body.percent !== undefined || body.enabled !== undefined, { message: 'say what to change: percent, enabled or both' });

const CreateKeyBody = strictBody({
  name: z.string().min(1).max(200).describe('what reads with it, like checkout-web'),
  environment: flagName('environment').optional().describe(`the environment whose flags it evaluates; default ${DEFAULT_ENVIRONMENT}`),
});

export interface FlagRouteDeps {
  flags: FlagStore;
  roles: RoleDirectory;
}

/** Changing flags and their keys is a release manager's: the 403 names the role and how to grant it. */
async function requireReleaseManager(roles: RoleDirectory, user: string, what: string): Promise<void> {
  const held = await roles.rolesOf(user);
  if (held.includes(FLAG_ROLE)) return;
  throw new ApiError(403, 'forbidden',
    `${user} cannot ${what}: only a release manager may (${user} holds ${held.join(', ') || 'no role'}); grant with \`golive roles grant ${user} ${FLAG_ROLE}\``);
}

const noFlag = (key: string, environment: string) =>
  new ApiError(404, 'not_found', `no flag ${key} in environment ${environment}: create it with a percentage (PUT {"percent": 0}), or list flags with GET /api/flags`);

/** golive's built-in flags and their read keys: anyone with a token reads, a release manager changes. */
export function flagRoutes(deps: FlagRouteDeps): FastifyPluginAsyncZod {
  const { flags, roles } = deps;
  return async (app) => {
    app.get('/api/flags', {
      schema: { tags: ['flags'], summary: "golive's built-in flags, of one environment or all", querystring: EnvironmentQuery, response: { 200: FlagListShape, ...errorResponses(400, 401) } },
    }, async (request) => ({ flags: (await flags.list(request.query.environment)).map((flag) => ({ ...flag })) }));

    app.get('/api/flags/:key', {
      schema: {
        tags: ['flags'], summary: 'One flag and its newest changes: who, through what, which run, from → to',
        params: KeyParams, querystring: EnvironmentQuery, response: { 200: FlagDetailShape, ...errorResponses(400, 401, 404) },
      },
    }, async (request) => {
      const { key } = request.params;
      const environment = request.query.environment ?? DEFAULT_ENVIRONMENT;
      const flag = await flags.get(key, environment);
      if (!flag) throw noFlag(key, environment);
      return { flag: { ...flag }, changes: (await flags.changes(key, environment, 20)).map((change) => ({ ...change })) };
    });

    app.put('/api/flags/:key', {
      schema: {
        tags: ['flags'],
        summary: "Set a flag's percentage, switch it on or off, or both (creating it when a percentage is given); the token's user must be a release manager",
        params: KeyParams, body: ChangeFlagBody, response: { 200: FlagUpdateShape, ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    }, async (request) => {
      const { key } = request.params;
      const { percent, enabled, comment } = request.body;
      const environment = request.body.environment ?? DEFAULT_ENVIRONMENT;
      const user = principalOf(request).user;
      await requireReleaseManager(roles, user, `change flag ${key}`);
      const change = await flags.update({ key, environment, percent, enabled, comment, actor: user, channel: 'api' });
      const flag = change && (await flags.get(key, environment));
      if (!change || !flag) throw noFlag(key, environment);
      if (change.changed) request.log.info({ key, environment, from: change.from, to: change.to, user }, 'flag changed through the API');
      return { flag: { ...flag }, change: { ...change } };
    });

    app.post('/api/flag-keys', {
      schema: {
        tags: ['flags'], summary: "Create a flag-read key for OFREP; its secret is in this answer only. The token's user must be a release manager",
        body: CreateKeyBody, response: { 201: CreatedFlagKeyShape, ...errorResponses(400, 401, 403, 413, 415) },
      },
    }, async (request, reply) => {
      const user = principalOf(request).user;
      const { name } = request.body;
      await requireReleaseManager(roles, user, 'create a flag-read key');
      const created = await flags.createKey({ name, environment: request.body.environment ?? DEFAULT_ENVIRONMENT }, { name: user, channel: 'api' });
      request.log.info({ keyId: created.id, name, environment: created.environment, user }, 'flag-read key created through the API');
      return reply.code(201).send({ ...created });
    });

    app.get('/api/flag-keys', {
      schema: { tags: ['flags'], summary: 'Every flag-read key: name, environment, who created it, whether revoked (never the secret)', response: { 200: FlagKeyListShape, ...errorResponses(401) } },
    }, async () => ({ keys: (await flags.listKeys()).map((key) => ({ ...key })) }));

    app.delete('/api/flag-keys/:id', {
      schema: {
        tags: ['flags'], summary: 'Revoke a flag-read key; OFREP servers refuse it within 30 s. The token\'s user must be a release manager',
        params: z.object({ id: z.string().min(1).max(100) }), response: { 200: RevokedFlagKeyShape, ...errorResponses(401, 403, 404) },
      },
    }, async (request) => {
      const user = principalOf(request).user;
      const { id } = request.params;
      await requireReleaseManager(roles, user, 'revoke a flag-read key');
      const revoked = await flags.revokeKey(id, { name: user, channel: 'api' });
      if (!revoked) throw new ApiError(404, 'not_found', `no flag-read key ${id}: list them with GET /api/flag-keys`);
      return { key: { ...revoked.key }, changed: revoked.changed };
    });
  };
}
