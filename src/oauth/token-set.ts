import type * as oauth from 'oauth4webapi';

/** A token endpoint answer in our terms. Secret fields are only ever handed to the vault. */
export interface TokenSet {
  accessToken: string;
  tokenType: string;
  /** Seconds, or null when the provider gave no lifetime. */
  expiresIn: number | null;
  refreshToken: string | null;
  /** Granted scopes as the provider listed them; null when it did not say (then: as requested, RFC 6749 §5.1). */
  scopes: string[] | null;
  /** OIDC identity of the account, when an ID token came back. */
  identity: { issuer: string; subject: string } | null;
  /** Seconds the refresh token lives, when the provider says (refresh_token_expires_in). */
  refreshTokenExpiresIn: number | null;
  /**
   * The response's other fields (instance_url, team, …) with every token removed, also nested ones
   * (Slack's `authed_user.access_token`); safe to read, not to log. A validated ID token's claims
   * are under `id_token_claims`, so a definition can keep or show them (`id_token_claims.email`).
   */
  extra: Record<string, unknown>;
  /** Set when the tokens came from a person's consent (the code exchange), not a refresh or a machine grant. */
  fromConsent?: boolean;
}

const SECRET_FIELDS = new Set(['access_token', 'refresh_token', 'id_token']);

export function splitScopes(scope: string | undefined | null, separator = ' '): string[] | null {
  if (scope === undefined || scope === null) return null;
  const sep = separator.trim() === '' ? /\s+/ : separator;
  return scope.split(sep).map((s) => s.trim()).filter(Boolean);
}

export function toTokenSet(res: oauth.TokenEndpointResponse, claims: oauth.IDToken | undefined, separator: string): TokenSet {
  const rtExp = res['refresh_token_expires_in'];
  return {
    accessToken: res.access_token,
    tokenType: res.token_type,
    expiresIn: typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in : null,
    refreshToken: res.refresh_token ?? null,
    scopes: splitScopes(res.scope, separator),
    identity: claims ? { issuer: claims.iss, subject: claims.sub } : null,
    refreshTokenExpiresIn: typeof rtExp === 'number' && rtExp > 0 ? rtExp : null,
    extra: { ...withoutSecrets(res), ...(claims ? { id_token_claims: { ...claims } } : {}) },
  };
}

/** A copy of a JSON object without token fields at any depth. */
function withoutSecrets(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_FIELDS.has(k)) continue;
    out[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? withoutSecrets(v as Record<string, unknown>) : v;
  }
  return out;
}
