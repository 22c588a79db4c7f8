import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/**
 * GitHub OAuth Apps and GitHub Apps (user-to-server tokens).
 *
 * Deviation: GitHub answers token request errors with HTTP 200 and a JSON body
 * `{"error":"bad_verification_code","error_description":"…","error_uri":"…"}`; they become status
 * 400 so the standard error path (RFC 6749 §5.2) sees them, with GitHub's error kept.
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/troubleshooting-oauth-app-access-token-request-errors
 *
 * Deviation: refreshing with an expired or already used refresh token answers 200
 * `{"error":"bad_refresh_token",…}`; that is RFC 6749's `invalid_grant` (the connection needs
 * re-authorisation), so it becomes `invalid_grant` with GitHub's code kept in error_description.
 * @see https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
 *
 * Deviation: the granted `scope` in a token response is comma-separated although requests use
 * spaces; it is rewritten to spaces so the catalog's one separator applies.
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
export const github = {
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    if (!body) return { status: res.status, body: res.body };
    const error = body['error'];
    if (typeof error === 'string' && error !== '') {
      const status = res.status >= 200 && res.status < 300 ? 400 : res.status;
      if (error === 'bad_refresh_token') {
        const said = typeof body['error_description'] === 'string' ? body['error_description'] : '';
        return { status, body: { ...body, error: 'invalid_grant', error_description: said ? `${error}: ${said}` : error } };
      }
      return { status, body };
    }
    const scope = body['scope'];
    if (typeof scope === 'string' && scope.includes(',')) {
      return { status: res.status, body: { ...body, scope: scope.split(',').map((s) => s.trim()).filter(Boolean).join(' ') } };
    }
    return { status: res.status, body };
  },
} satisfies ProviderHooks;
