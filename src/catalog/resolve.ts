import type { ProviderDefinition } from './schema.ts';

/**
 * Endpoints and behaviour for one integration: the definition merged with what the integration
 * configured (custom endpoints) or discovered (issuer metadata). Everything the protocol layer needs.
 */
export interface ResolvedProvider {
  definition: ProviderDefinition;
  issuer: string | null;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  revocationEndpoint: string | null;
  deviceAuthorizationEndpoint: string | null;
  parEndpoint: string | null;
  /** RFC 9207: the server promises `iss` in every authorization response. */
  issParameterSupported: boolean;
  oidc: boolean;
  apiBaseUrls: string[];
}

/** What an integration stores in its `config` about endpoints. */
export interface EndpointConfig {
  issuer?: string | undefined;
  authorizationUrl?: string | undefined;
  tokenUrl?: string | undefined;
  revocationUrl?: string | undefined;
  deviceAuthorizationUrl?: string | undefined;
  parUrl?: string | undefined;
  apiBaseUrl?: string | undefined;
  issParameterSupported?: boolean | undefined;
  oidc?: boolean | undefined;
}

export function resolveProvider(def: ProviderDefinition, config: EndpointConfig): ResolvedProvider {
  return {
    definition: def,
    issuer: config.issuer ?? def.issuer ?? null,
    authorizationEndpoint: config.authorizationUrl ?? def.authorizationUrl ?? null,
    tokenEndpoint: config.tokenUrl ?? def.tokenUrl ?? null,
    revocationEndpoint: config.revocationUrl ?? def.revocationUrl ?? null,
    deviceAuthorizationEndpoint: config.deviceAuthorizationUrl ?? def.deviceAuthorizationUrl ?? null,
    parEndpoint: config.parUrl ?? def.parUrl ?? null,
    issParameterSupported: config.issParameterSupported ?? def.issParameterSupported,
    oidc: config.oidc ?? def.oidc,
    apiBaseUrls: config.apiBaseUrl ? [config.apiBaseUrl] : def.api.baseUrls,
  };
}
