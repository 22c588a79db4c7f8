import * as oauth from 'oauth4webapi';
import type { ResolvedProvider } from '../catalog/index.ts';
import type { ClientPrivateKey } from './client-auth.ts';

export { clientAuthOf } from './client-auth.ts';

/** Everything a protocol call needs besides its own arguments. */
export interface OAuthContext {
  provider: ResolvedProvider;
  /** `privateKey`: the integration's key for `private_key_jwt` (then used instead of the secret). */
  client: { clientId: string; clientSecret: string | null; privateKey?: ClientPrivateKey | null };
  /** The outbound-policy fetch (possibly wrapped by the provider's quirk normalizer). */
  fetch: typeof fetch;
  /** The outbound-policy fetch without the token-response normalizer: userinfo and other API calls. */
  apiFetch?: typeof fetch;
  /** Development mode: http on loopback allowed (the outbound policy has already checked it). */
  allowInsecure: boolean;
  timeoutMs: number;
}

/**
 * oauth4webapi wants authorization server metadata. Providers without an issuer (GitHub, Slack…)
 * get their token endpoint's origin as a stand-in issuer; they send no `iss`, which then is not required.
 */
export function asMetadata(p: ResolvedProvider): oauth.AuthorizationServer {
  const pseudoIssuer = p.tokenEndpoint ? new URL(p.tokenEndpoint).origin : 'urn:keyway:unknown-issuer';
  const as: Record<string, unknown> = {
    issuer: p.issuer ?? pseudoIssuer,
    authorization_endpoint: p.authorizationEndpoint ?? undefined,
    token_endpoint: p.tokenEndpoint ?? undefined,
    revocation_endpoint: p.revocationEndpoint ?? undefined,
    device_authorization_endpoint: p.deviceAuthorizationEndpoint ?? undefined,
    pushed_authorization_request_endpoint: p.parEndpoint ?? undefined,
    authorization_response_iss_parameter_supported: p.issParameterSupported,
  };
  return as as unknown as oauth.AuthorizationServer;
}

export function clientOf(ctx: OAuthContext): oauth.Client {
  return { client_id: ctx.client.clientId };
}

/** Options every oauth4webapi request takes: our fetch, insecure only in dev, a timeout. */
export function requestOptions(ctx: OAuthContext): { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]: boolean; signal: AbortSignal } {
  return {
    [oauth.customFetch]: ctx.fetch,
    [oauth.allowInsecureRequests]: ctx.allowInsecure,
    signal: AbortSignal.timeout(ctx.timeoutMs),
  };
}
