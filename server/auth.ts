import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { TOKEN_PREFIX, type IdentityStore } from '../store/identity.ts';
import { ApiError } from './errors.ts';
import { CredentialRejected, VerifierUnavailable } from './oidc.ts';

/** Who is calling, as golive authenticated them. */
export interface Principal {
  user: string;
  via: 'token' | 'oidc';
  /** The public id of the API token used. */
  tokenId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Served without authentication (probes, metrics, the OpenAPI document). */
    public?: boolean;
  }
}

export interface Authenticators {
  identity: Pick<IdentityStore, 'verifyToken'>;
  /** Verifies a bearer JWT and returns its user; absent when no OIDC provider is configured. */
  verifyJwt?: (jwt: string) => Promise<string>;
}

const CHALLENGE = 'Bearer realm="golive"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="golive", error="invalid_token"';
/** The same words whatever was wrong with a credential: unknown id, wrong secret, expired, revoked, bad signature. */
const INVALID = 'the bearer token is invalid, expired or revoked';

const unauthorized = (message: string, challenge = INVALID_TOKEN_CHALLENGE) => new ApiError(401, 'unauthorized', message, { 'www-authenticate': challenge });

async function principalFor(credential: string, auth: Authenticators, request: FastifyRequest): Promise<Principal> {
  if (credential.startsWith(TOKEN_PREFIX)) {
    const token = await auth.identity.verifyToken(credential).catch((error: unknown) => {
      request.log.error({ err: error }, 'cannot check an API token: golive\'s database did not answer');
      throw new ApiError(503, 'unavailable', 'cannot check the token now: golive\'s database did not answer; try again');
    });
    if (!token) throw unauthorized(INVALID);
    return { user: token.user, via: 'token', tokenId: token.tokenId };
  }
  if (!auth.verifyJwt) throw unauthorized(INVALID);
  try {
    return { user: await auth.verifyJwt(credential), via: 'oidc' };
  } catch (error) {
    if (error instanceof CredentialRejected) {
      request.log.info({ reason: error.message }, 'rejected a bearer JWT');
      throw unauthorized(error.publicMessage ?? INVALID);
    }
    if (error instanceof VerifierUnavailable) {
      request.log.error({ err: error }, 'cannot verify a bearer JWT');
      throw new ApiError(503, 'unavailable', 'cannot verify the token now: the OIDC provider\'s keys could not be read; see the server log');
    }
    throw error;
  }
}

/**
 * The one authentication hook: every route not marked public needs `Authorization: Bearer
 * <golive API token or OIDC JWT>`; the user it names is `request.principal`. An unmatched path
 * is not public either, so a caller without credentials learns nothing about which routes exist.
 */
export function authenticate(auth: Authenticators): onRequestAsyncHookHandler {
  return async (request) => {
    if (request.routeOptions.config.public) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      throw unauthorized('authentication required: send Authorization: Bearer <token> (an API token from `golive token create`, or a JWT from your OIDC provider)', CHALLENGE);
    }
    const match = /^Bearer +(\S+)$/i.exec(header.trim());
    if (!match?.[1]) throw unauthorized('malformed Authorization header: it must be `Bearer <token>`', CHALLENGE);
    request.principal = await principalFor(match[1], auth, request);
  };
}

/** The authenticated caller of a route that is not public. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`route ${request.routeOptions.url ?? request.url} ran without an authenticated principal`);
  return request.principal;
}
