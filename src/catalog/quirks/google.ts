import { type IdTokenIssuerInput, type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/** Google grants the OpenID scopes under their long names; requests use the short ones. */
const SHORT_SCOPE: Record<string, string> = {
  'https://www.googleapis.com/auth/userinfo.email': 'email',
  'https://www.googleapis.com/auth/userinfo.profile': 'profile',
};

/**
 * Google OAuth 2.0 and OpenID Connect.
 *
 * Deviation: Google documents the ID token's `iss` as either `https://accounts.google.com` or
 * `accounts.google.com`; the scheme-less form is accepted for the same host, nothing else.
 * @see https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
 *
 * Deviation: a token response lists the granted `email` and `profile` scopes as
 * `https://www.googleapis.com/auth/userinfo.email` / `…userinfo.profile`; they are read under the
 * names they were asked for, so a connection does not report them as missing.
 * @see https://developers.google.com/identity/protocols/oauth2/scopes#oauth2
 *
 * Settings, not code: `access_type=offline` and `prompt=consent` are sent so Google returns a
 * refresh token on every consent (it otherwise sends one only the first time).
 * @see https://developers.google.com/identity/protocols/oauth2/web-server#offline
 */
export const google = {
  notes: [
    'Google sends a refresh token only with `access_type=offline`, and again only after a new consent (`prompt=consent`); a refresh answer never brings a new one, so the stored refresh token is kept.',
    'Granted `email`/`profile` come back as `…/auth/userinfo.email`/`…/auth/userinfo.profile` and are read under their short names.',
    'ID tokens may name the issuer `accounts.google.com` without the scheme; both forms of Google\'s issuer are accepted.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    const scope = body?.['scope'];
    if (!body || typeof scope !== 'string') return { status: res.status, body: res.body };
    return { status: res.status, body: { ...body, scope: scope.split(/\s+/).filter(Boolean).map((s) => SHORT_SCOPE[s] ?? s).join(' ') } };
  },
  idTokenIssuer({ configuredIssuer, claims }: IdTokenIssuerInput): string {
    const bare = configuredIssuer.startsWith('https://') ? configuredIssuer.slice('https://'.length) : null;
    return bare !== null && claims['iss'] === bare ? bare : configuredIssuer;
  },
} satisfies ProviderHooks;
