import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, errorSentAsSuccess } from './types.ts';

/** Zoho error codes that mean the code or refresh token is dead. */
const DEAD_GRANT = new Set(['invalid_code', 'invalid_grant']);

/**
 * Zoho (accounts.zoho.{region}).
 *
 * Deviation: token errors arrive with HTTP 200 as `{"error":"invalid_code"}`, both for a bad code and
 * for a revoked refresh token. They become status 400; `invalid_code` reads as `invalid_grant`.
 * @see https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token.html
 * @see https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html
 */
export const zoho = {
  notes: [
    'Errors arrive with HTTP 200 (`{"error":"invalid_code"}`); Keyway reads `invalid_code` as `invalid_grant`.',
    'The API host comes back as `api_domain` and is accepted only on Zoho\'s API domains.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const failed = errorSentAsSuccess(res);
    if (!failed) return { status: res.status, body: res.body };
    const code = String(failed.body['error']);
    if (!DEAD_GRANT.has(code) || code === 'invalid_grant') return failed;
    return { status: failed.status, body: { ...failed.body, error: 'invalid_grant', error_description: code } };
  },
} satisfies ProviderHooks;
