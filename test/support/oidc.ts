import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
}

export interface OidcProvider {
  /** The issuer URL (with a path, as Keycloak and others use). */
  issuer: string;
  jwksUrl: string;
  /** Keys the provider publishes in its JWKS. */
  keys: SigningKey[];
  /** A key the provider does not publish: tokens signed with it are forgeries. */
  foreignKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey>;
  /** A JWT from this issuer for `audience`, valid for five minutes unless the claims say otherwise. */
  sign(claims: JWTPayload, options?: { key?: SigningKey; audience?: string; issuer?: string }): Promise<string>;
  close(): Promise<void>;
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey & { publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : undefined);
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A minimal OpenID Connect provider on a local port: discovery document and JWKS, with the keys to sign tokens. */
export async function startOidcProvider(audience: string): Promise<OidcProvider> {
  const published = await Promise.all([signingKey('RS256', 'rsa-1'), signingKey('ES256', 'ec-1'), signingKey('EdDSA', 'ed-1')]);
  let base = '';
  const server: Server = createServer((request, response) => {
    const issuer = `${base}/realms/ops`;
    const documents: Record<string, unknown> = {
      '/realms/ops/.well-known/openid-configuration': { issuer, jwks_uri: `${base}/keys`, id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'] },
      '/keys': { keys: published.map((key) => key.publicJwk) },
    };
    const body = documents[request.url ?? ''];
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const issuer = `${base}/realms/ops`;
  const keys = published.map(({ kid, alg, privateKey }) => ({ kid, alg, privateKey }));
  return {
    issuer,
    jwksUrl: `${base}/keys`,
    keys,
    foreignKey: async (alg, kid) => {
      const { privateKey } = await signingKey(alg, kid);
      return { kid, alg, privateKey };
    },
    async sign(claims, options = {}) {
      const key = options.key ?? keys[0];
      if (!key) throw new Error('the provider has no keys');
      const now = Math.floor(Date.now() / 1_000);
      return new SignJWT({ iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .sign(key.privateKey);
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
