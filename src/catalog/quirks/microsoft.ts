import type { IdTokenIssuerInput, ProviderHooks } from './types.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The tenant personal Microsoft accounts belong to. */
export const CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

/**
 * Microsoft identity platform (Entra ID) v2.0 endpoints.
 *
 * Deviation: with the multi-tenant endpoints (`common`, `organizations`, `consumers`, or a tenant
 * given by domain name) the ID token's `iss` is not the issuer the connection started with but
 * `https://login.microsoftonline.com/{tid}/v2.0`, where `{tid}` is the token's own `tid` claim.
 * The expected issuer is built from `tid` (which must be a GUID, and must fit the endpoint:
 * `organizations` refuses the personal-account tenant, `consumers` accepts only it); oauth4webapi
 * then compares the token's `iss` with it. A tenant given as a GUID expects exactly that tenant.
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
 */
export const microsoft = {
  notes: [
    'The tenant (`common`, `organizations`, `consumers`, a tenant id or domain) is part of every endpoint URL.',
    'ID tokens from `common`/`organizations` carry the account\'s own tenant in `iss` (`…/{tid}/v2.0`); Keyway accepts exactly that issuer for the token\'s `tid`, and refuses personal accounts on `organizations`.',
  ],
  idTokenIssuer({ configuredIssuer, claims }: IdTokenIssuerInput): string {
    const m = /^(.*)\/([^/]+)\/v2\.0\/?$/.exec(configuredIssuer);
    if (!m) return configuredIssuer;
    const base = m[1] ?? '';
    const tenant = (m[2] ?? '').toLowerCase();
    const tid = typeof claims['tid'] === 'string' ? claims['tid'].toLowerCase() : '';
    if (!GUID.test(tid) || GUID.test(tenant)) return configuredIssuer;
    if (tenant === 'organizations' && tid === CONSUMERS_TENANT) return configuredIssuer;
    if (tenant === 'consumers' && tid !== CONSUMERS_TENANT) return configuredIssuer;
    return `${base}/${tid}/v2.0`;
  },
} satisfies ProviderHooks;
