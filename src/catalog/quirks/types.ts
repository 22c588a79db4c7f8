/** A token endpoint answer as received: the status, the headers and the JSON body. */
export interface TokenResponseIn {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A token endpoint answer after a quirk has rewritten it into standard OAuth 2 shape. */
export interface TokenResponseOut {
  status: number;
  body: unknown;
}

/** A token endpoint request as oauth4webapi built it (form-encoded, RFC 6749 §4.1.3). */
export interface TokenRequestIn {
  headers: Headers;
  body: URLSearchParams;
}

/** The request as the provider wants it. */
export interface TokenRequestOut {
  headers: Headers;
  body: string | URLSearchParams;
}

/** What the protocol layer knows when it checks an ID token's `iss`. */
export interface IdTokenIssuerInput {
  /** The issuer the connection was started with, templates filled (`…/common/v2.0`). */
  configuredIssuer: string;
  /** The ID token's claims, read but not yet validated. */
  claims: Record<string, unknown>;
}

/**
 * Typed hooks a provider's quirk module may implement where the provider departs from the standard.
 * Each module in this folder exports one object that `satisfies ProviderHooks`.
 */
export interface ProviderHooks {
  /** One sentence per deviation the module handles, for docs/providers.md. */
  readonly notes?: readonly string[];
  /** Rewrites a token endpoint response (JSON) before oauth4webapi parses it. */
  normalizeTokenResponse?(res: TokenResponseIn): TokenResponseOut;
  /** Rewrites a token endpoint request before it is sent (a provider that wants JSON bodies). */
  prepareTokenRequest?(req: TokenRequestIn): TokenRequestOut;
  /**
   * The `iss` an ID token must carry, when it is not the configured issuer (Microsoft's
   * multi-tenant endpoints). Returning the configured issuer refuses any other value. The claims
   * decide which issuer is expected; the comparison itself stays oauth4webapi's.
   */
  idTokenIssuer?(input: IdTokenIssuerInput): string;
}

/** A JSON object, or null when the value is anything else. */
export function asObject(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : null;
}

/**
 * Providers that answer token errors with HTTP 200 (GitHub, Zoho): an error body becomes status
 * 400, or keeps the error status it came with. Null when the body is not an error.
 */
export function errorSentAsSuccess(res: TokenResponseIn): { status: number; body: Record<string, unknown> } | null {
  const body = asObject(res.body);
  if (!body) return null;
  const error = body['error'];
  if (typeof error !== 'string' || error === '') return null;
  return { status: res.status >= 200 && res.status < 300 ? 400 : res.status, body };
}
