import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/** Zoom's `reason` texts that mean the grant itself is dead. */
const DEAD_GRANT = /invalid (?:refresh )?token|invalid authorization code|token (?:is )?expired/i;

/**
 * Zoom (user-authorized OAuth apps).
 *
 * Deviation: an unusable refresh token or code is answered `{"reason":"Invalid Token!",
 * "error":"invalid_request"}` rather than RFC 6749's `invalid_grant`; such answers become
 * `invalid_grant` with Zoom's reason as the description, so the connection asks to reconnect instead
 * of retrying a token that can never work. Refresh tokens rotate: each is used once.
 * @see https://developers.zoom.us/docs/integrations/oauth/#refreshing-an-access-token
 * @see https://developers.zoom.us/docs/integrations/oauth-error-messages/
 */
export const zoom = {
  notes: [
    'A used or expired refresh token is answered `invalid_request` with reason "Invalid Token!"; Keyway reads it as `invalid_grant`.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    const reason = body?.['reason'];
    if (body && res.status >= 400 && body['error'] === 'invalid_request' && typeof reason === 'string' && DEAD_GRANT.test(reason)) {
      return { status: res.status, body: { error: 'invalid_grant', error_description: reason } };
    }
    return { status: res.status, body: res.body };
  },
} satisfies ProviderHooks;
