import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';
import type { EndpointConfig } from '../catalog/index.ts';

export interface DiscoveryOptions {
  fetch: typeof fetch;
  allowInsecure: boolean;
  timeoutMs: number;
}

/**
 * Discovers an authorization server from its issuer: RFC 8414 first, then OpenID Connect
 * Discovery. The document's `issuer` must equal the one given (RFC 8414 §3.3), which oauth4webapi
 * checks; the endpoints are then checked by the caller against the outbound policy.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 */
export async function discoverIssuer(issuer: string, opts: DiscoveryOptions): Promise<EndpointConfig> {
  const issuerUrl = new URL(issuer);
  const failures: string[] = [];
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const res = await oauth.discoveryRequest(issuerUrl, {
        algorithm, [oauth.customFetch]: opts.fetch, [oauth.allowInsecureRequests]: opts.allowInsecure,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const as = await oauth.processDiscoveryResponse(issuerUrl, res);
      return {
        issuer: as.issuer,
        authorizationUrl: as.authorization_endpoint,
        tokenUrl: as.token_endpoint,
        revocationUrl: as.revocation_endpoint,
        deviceAuthorizationUrl: as.device_authorization_endpoint,
        parUrl: as.pushed_authorization_request_endpoint,
        issParameterSupported: as.authorization_response_iss_parameter_supported === true,
        requirePar: as.require_pushed_authorization_requests === true,
        oidc: algorithm === 'oidc' || Boolean(as.userinfo_endpoint) || Boolean(as.id_token_signing_alg_values_supported),
      };
    } catch (e) {
      if (e instanceof KeywayError) throw e; // refused by the outbound policy: no point trying the other path
      failures.push(`${algorithm === 'oauth2' ? 'RFC 8414' : 'OpenID Connect'}: ${(e as Error).message}`);
    }
  }
  throw new KeywayError('discovery_failed',
    `Could not discover the authorization server at ${issuerUrl.origin}${issuerUrl.pathname} (${failures.join('; ')}). Check the issuer URL, or give authorizationUrl and tokenUrl instead.`);
}
