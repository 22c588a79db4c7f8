import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/**
 * Intuit QuickBooks Online.
 *
 * Deviation: the refresh token's lifetime comes as `x_refresh_token_expires_in` (seconds) rather
 * than `refresh_token_expires_in`; it is copied to the standard name so the connection shows when
 * the refresh token expires. Intuit may return a new refresh token on any refresh: the latest is stored.
 * @see https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#refresh-the-token
 */
export const quickbooks = {
  notes: [
    'The refresh token\'s lifetime arrives as `x_refresh_token_expires_in`; Keyway shows it as the connection\'s refresh-token expiry.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    const seconds = body?.['x_refresh_token_expires_in'];
    if (!body || body['refresh_token_expires_in'] !== undefined || (typeof seconds !== 'number' && typeof seconds !== 'string')) {
      return { status: res.status, body: res.body };
    }
    const n = Number(seconds);
    return Number.isFinite(n) && n > 0 ? { status: res.status, body: { ...body, refresh_token_expires_in: n } } : { status: res.status, body };
  },
} satisfies ProviderHooks;
