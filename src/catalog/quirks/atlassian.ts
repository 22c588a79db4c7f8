import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/**
 * Atlassian Cloud (OAuth 2.0 3LO).
 *
 * Deviation: a dead refresh token (expired after 90 days unused, or rotated away) is answered
 * with HTTP 403 `{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}`
 * instead of RFC 6749 §5.2's 400. It becomes a 400, so it reads as the dead grant it is (and an
 * authentication challenge on a 403 can never be mistaken for a client-credentials problem).
 * @see https://developer.atlassian.com/cloud/oauth/getting-started/refresh-tokens/
 */
export const atlassian = {
  notes: [
    'A dead refresh token is answered with HTTP 403 `invalid_grant`; the connection turns needs re-auth.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    if (res.status === 403 && body?.['error'] === 'invalid_grant') return { status: 400, body };
    return { status: res.status, body: res.body };
  },
} satisfies ProviderHooks;
