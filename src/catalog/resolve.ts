import type { ProviderDefinition } from './schema.ts';
import { canFill, fillTemplate } from './templates.ts';

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
  /** Authorization requests are pushed to `parEndpoint` first (RFC 9126). */
  usePar: boolean;
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
  /** The provider's metadata says every authorization request must be pushed (RFC 9126 `require_pushed_authorization_requests`). */
  requirePar?: boolean | undefined;
  /** The integration's choice: push authorization requests (true) or not (false); unset follows `requirePar`. */
  usePar?: boolean | undefined;
  apiBaseUrl?: string | undefined;
  issParameterSupported?: boolean | undefined;
  oidc?: boolean | undefined;
}

/** A connection's values for the definition's URL templates: given params, and values kept from tokens. */
export interface ConnectionValues {
  params: Record<string, string>;
  kept?: Record<string, string>;
}

/**
 * Merges definition and integration config. With connection values, URL templates are filled
 * (`{tenant}`, `{subdomain}`, `{instance_url}`); without, they are left as templates (for display).
 */
export function resolveProvider(def: ProviderDefinition, config: EndpointConfig, values?: ConnectionValues): ResolvedProvider {
  const fill = (u: string | null | undefined): string | null =>
    u === undefined || u === null ? null : values ? fillTemplate(u, values.params) : u;
  const apiBase = config.apiBaseUrl ? [config.apiBaseUrl] : def.api.baseUrls;
  return {
    definition: def,
    issuer: fill(config.issuer ?? def.issuer),
    authorizationEndpoint: fill(config.authorizationUrl ?? def.authorizationUrl),
    tokenEndpoint: fill(config.tokenUrl ?? def.tokenUrl),
    revocationEndpoint: fill(config.revocationUrl ?? def.revocationUrl),
    deviceAuthorizationEndpoint: fill(config.deviceAuthorizationUrl ?? def.deviceAuthorizationUrl),
    parEndpoint: fill(config.parUrl ?? def.parUrl),
    usePar: (config.usePar ?? config.requirePar ?? false) && (config.parUrl ?? def.parUrl) !== undefined,
    issParameterSupported: config.issParameterSupported ?? def.issParameterSupported,
    oidc: config.oidc ?? def.oidc,
    // Base URLs from token-response values (`{instance_url}`) exist only once a token came back.
    apiBaseUrls: values
      ? apiBase.filter((u) => canFill(u, values.params, values.kept)).map((u) => fillTemplate(u, values.params, values.kept ?? {}))
      : apiBase,
  };
}
