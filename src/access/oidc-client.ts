import * as oauth from 'oauth4webapi';
import type { OidcSignInConfig } from '../core/config.ts';
import { KeywayError } from '../core/errors.ts';
import { parseDefinition, resolveProvider } from '../catalog/index.ts';
import type { OAuthContext, TokenSet } from '../oauth/index.ts';

/** What single sign-on calls out with: the outbound policy's check and fetch. */
export interface OidcClientDeps {
  config: OidcSignInConfig;
  outbound: { checkUrl(url: string | URL, what?: string): URL; fetch: typeof fetch };
  /** Development mode: http to loopback allowed (the outbound policy has checked it). */
  allowInsecure: boolean;
  timeoutMs: number;
}

/** The identity provider, discovered: the protocol context connections use too, and its userinfo endpoint. */
export interface DiscoveredProvider {
  ctx: OAuthContext;
  userinfoEndpoint: string | null;
}

/** Who the identity provider says signed in. */
export interface SsoIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  /** Only a verified email may match a member (OIDC Core §5.1 `email_verified`). */
  emailVerified: boolean;
  name: string | null;
}

/**
 * Discovers the identity provider (OpenID Connect Discovery §4; the document's `issuer` must be the
 * configured one) and builds the same protocol context integrations use, so sign-in runs through
 * src/oauth's Authorization Code + PKCE code. Each endpoint passes the outbound URL policy. The
 * authorization request is pushed (RFC 9126) when KEYWAY_OIDC_PAR says so, or, unset, when the
 * provider's metadata requires it.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */
export async function discoverSignInProvider(d: OidcClientDeps): Promise<DiscoveredProvider> {
  const issuerUrl = d.outbound.checkUrl(d.config.issuer, 'KEYWAY_OIDC_ISSUER');
  let as: oauth.AuthorizationServer;
  try {
    const res = await oauth.discoveryRequest(issuerUrl, {
      algorithm: 'oidc', [oauth.customFetch]: d.outbound.fetch, [oauth.allowInsecureRequests]: d.allowInsecure,
      signal: AbortSignal.timeout(d.timeoutMs),
    });
    as = await oauth.processDiscoveryResponse(issuerUrl, res);
  } catch (e) {
    if (e instanceof KeywayError) throw e;
    throw new KeywayError('discovery_failed', `The identity provider at ${issuerUrl.origin} could not be discovered (${(e as Error).message}). Check KEYWAY_OIDC_ISSUER.`, { cause: e });
  }
  const endpoint = (u: string | undefined, what: string): string | undefined => (u === undefined ? undefined : d.outbound.checkUrl(u, what).toString());
  const definition = parseDefinition({
    id: 'keyway-sign-in', name: 'Single sign-on', categories: ['sign-in'], grants: ['authorization_code'],
    issuer: as.issuer, oidc: true, scopes: { default: ['openid', 'email', 'profile'], separator: ' ' },
    clientAuth: d.config.clientSecret === null ? 'none' : 'client_secret_basic',
  }, 'KEYWAY_OIDC_ISSUER');
  const provider = resolveProvider(definition, {
    issuer: as.issuer,
    authorizationUrl: endpoint(as.authorization_endpoint, 'authorization_endpoint'),
    tokenUrl: endpoint(as.token_endpoint, 'token_endpoint'),
    parUrl: endpoint(as.pushed_authorization_request_endpoint, 'pushed_authorization_request_endpoint'),
    requirePar: as.require_pushed_authorization_requests === true,
    usePar: d.config.pushedAuthorization ?? undefined,
    issParameterSupported: as.authorization_response_iss_parameter_supported === true,
    oidc: true,
  });
  const wantsPar = d.config.pushedAuthorization ?? as.require_pushed_authorization_requests === true;
  if (wantsPar && provider.parEndpoint === null) {
    throw new KeywayError('discovery_failed', d.config.pushedAuthorization === true
      ? `KEYWAY_OIDC_PAR is on, but the identity provider at ${issuerUrl.origin} publishes no pushed authorization request endpoint. Turn PAR on at the provider, or unset KEYWAY_OIDC_PAR.`
      : `The identity provider at ${issuerUrl.origin} requires pushed authorization requests but publishes no endpoint for them; check its configuration.`);
  }
  return {
    ctx: {
      provider, client: { clientId: d.config.clientId, clientSecret: d.config.clientSecret },
      fetch: d.outbound.fetch, apiFetch: d.outbound.fetch, allowInsecure: d.allowInsecure, timeoutMs: d.timeoutMs,
    },
    userinfoEndpoint: endpoint(as.userinfo_endpoint, 'userinfo_endpoint') ?? null,
  };
}

/**
 * The signed-in person from the validated ID token (iss, sub, nonce checked by the code exchange),
 * completed from the UserInfo endpoint when there is one (its `sub` must be the ID token's).
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 */
export async function identityOf(d: OidcClientDeps, p: DiscoveredProvider, tokens: TokenSet): Promise<SsoIdentity> {
  if (!tokens.identity) throw new KeywayError('unauthorized', 'The identity provider returned no ID token; Keyway needs OpenID Connect (the "openid" scope) to know who signed in.');
  const { issuer, subject } = tokens.identity;
  let claims: Record<string, unknown> = { ...(tokens.extra['id_token_claims'] as Record<string, unknown> | undefined) };
  if (p.userinfoEndpoint) {
    const as = { issuer, userinfo_endpoint: p.userinfoEndpoint } as oauth.AuthorizationServer;
    const client: oauth.Client = { client_id: d.config.clientId };
    try {
      const res = await oauth.userInfoRequest(as, client, tokens.accessToken, {
        [oauth.customFetch]: d.outbound.fetch, [oauth.allowInsecureRequests]: d.allowInsecure, signal: AbortSignal.timeout(d.timeoutMs),
      });
      claims = { ...claims, ...(await oauth.processUserInfoResponse(as, client, subject, res)) };
    } catch (e) {
      throw new KeywayError('unauthorized', 'The identity provider did not say who signed in (its userinfo endpoint failed). Try again.', { cause: e });
    }
  }
  const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
  return {
    issuer, subject, email: str(claims['email']), emailVerified: claims['email_verified'] === true,
    name: str(claims['name']) ?? str(claims['preferred_username']),
  };
}
