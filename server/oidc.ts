import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { Config } from '../config/env.ts';

export type OidcSettings = NonNullable<Config['oidc']>;

/** The credential is not acceptable. The message is for the server log; `publicMessage`, when set, may be shown to the caller. */
export class CredentialRejected extends Error {
  constructor(
    reason: string,
    readonly publicMessage?: string,
  ) {
    super(reason);
  }
}

/** The provider's signing keys could not be read, so golive cannot decide now. */
export class VerifierUnavailable extends Error {}

/** Asymmetric algorithms only: a shared-secret HS256 token could be minted by anyone who knows the secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const CLOCK_TOLERANCE_SECONDS = 30;
const FETCH_TIMEOUT_MS = 5_000;

/** jose errors that mean "this token is not good"; any other failure means the keys could not be read. */
const REJECTED = new Set([
  'ERR_JWT_EXPIRED', 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWS_INVALID', 'ERR_JWT_INVALID',
  'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED',
]);

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.string().regex(/^https?:\/\//, 'must be an http(s) URL') });

/** The provider's jwks_uri from ISSUER/.well-known/openid-configuration, which must name the same issuer. */
async function discoverJwksUrl(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const parsed = Discovery.safeParse(await response.json());
  if (!parsed.success) throw new Error(`${url} is not an OpenID configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  if (parsed.data.issuer !== issuer) throw new Error(`${url} names issuer ${parsed.data.issuer}, not GOLIVE_OIDC_ISSUER ${issuer}`);
  return parsed.data.jwks_uri;
}

/**
 * Verifies bearer JWTs from the configured OpenID Connect provider and returns the user they
 * name. The key set is found once (GOLIVE_OIDC_JWKS_URL, else discovery) and then cached by
 * jose, which fetches it again when a token names a key it has not seen.
 */
export function createOidcVerifier(settings: OidcSettings): (jwt: string) => Promise<string> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = () => {
    keys ??= (settings.jwksUrl ? Promise.resolve(settings.jwksUrl) : discoverJwksUrl(settings.issuer))
      .then((url) => createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS }))
      .catch((error: unknown) => {
        keys = undefined;
        throw error;
      });
    return keys;
  };

  return async (jwt) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, await keySet(), {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JOSEError && REJECTED.has(error.code)) throw new CredentialRejected(`${error.code}: ${error.message}`);
      throw new VerifierUnavailable(`cannot read the signing keys of OIDC issuer ${settings.issuer}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const user = payload[settings.userClaim];
    if (typeof user !== 'string' || user.trim() === '') {
      const message = `the token's ${settings.userClaim} claim must be a non-empty string: golive takes the user from it (GOLIVE_OIDC_USER_CLAIM)`;
      throw new CredentialRejected(`claim ${settings.userClaim} is ${typeof user}`, message);
    }
    return user;
  };
}
