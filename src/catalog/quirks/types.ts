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

/**
 * Typed hooks a provider's quirk module may implement where the provider departs from the standard.
 * Each module in this folder exports one object that `satisfies ProviderHooks`.
 */
export interface ProviderHooks {
  /** Rewrites a token endpoint response (JSON) before oauth4webapi parses it. */
  normalizeTokenResponse?(res: TokenResponseIn): TokenResponseOut;
}

/** A JSON object, or null when the value is anything else. */
export function asObject(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : null;
}
