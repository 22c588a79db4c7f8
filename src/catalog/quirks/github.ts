import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject, errorSentAsSuccess } from './types.ts';

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
 *
 * Deviation: without `Accept: application/json` GitHub answers form-encoded; oauth4webapi always
 * sends that header on token requests, so no hook is needed for it.
 */
export const github = {
  notes: [
    'Token errors arrive with HTTP 200; Keyway reads them as errors (`bad_refresh_token` as `invalid_grant`).',
    'Granted scopes come back comma-separated and are read as a list.',
    'OAuth Apps issue tokens that never expire and no refresh token; GitHub Apps with "expire user authorization tokens" issue 8-hour tokens with single-use refresh tokens that live about 6 months.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const failed = errorSentAsSuccess(res);
    if (failed) {
      const { status, body } = failed;
      if (body['error'] === 'bad_refresh_token') {
        const said = typeof body['error_description'] === 'string' ? body['error_description'] : '';
        return { status, body: { ...body, error: 'invalid_grant', error_description: said ? `bad_refresh_token: ${said}` : 'bad_refresh_token' } };
      }
      return failed;
    }
    const body = asObject(res.body);
    const scope = body?.['scope'];
    if (body && typeof scope === 'string' && scope.includes(',')) {
      return { status: res.status, body: { ...body, scope: scope.split(',').map((s) => s.trim()).filter(Boolean).join(' ') } };
    }
    return { status: res.status, body: res.body };
  },
} satisfies ProviderHooks;
