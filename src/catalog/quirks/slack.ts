import { type ProviderHooks, type TokenResponseIn, type TokenResponseOut, asObject } from './types.ts';

/** Slack error codes that mean the grant is dead: the connection needs re-authorisation. */
const INVALID_GRANT = new Set(['invalid_refresh_token', 'invalid_grant']);

/**
 * Slack OAuth v2 (`oauth.v2.access`).
 *
 * Deviation: Slack answers errors with HTTP 200 and `{"ok":false,"error":"invalid_refresh_token"}`;
 * they become status 400 in RFC 6749 §5.2 shape. `invalid_refresh_token` and `invalid_grant` map
 * to `invalid_grant`; any other code is kept as Slack said it.
 * @see https://api.slack.com/methods/oauth.v2.access
 *
 * Deviation: `token_type` is "bot" or "user" rather than "bearer"; both are bearer tokens.
 * @see https://api.slack.com/authentication/oauth-v2
 *
 * Deviation: installs that only ask for user scopes carry the token under `authed_user`
 * (`{access_token, token_type:"user", scope, refresh_token?, expires_in?}`) with no top-level
 * `access_token`; those fields are lifted to the top level.
 * @see https://api.slack.com/authentication/oauth-v2#exchanging
 */
export const slack = {
  notes: [
    'Errors arrive with HTTP 200 as `{"ok":false,"error":…}`; `invalid_refresh_token` reads as `invalid_grant`.',
    'Scopes are comma-separated; `token_type` "bot"/"user" is read as bearer.',
    'A user-token install carries its token under `authed_user`; Keyway takes it from there.',
    'Without token rotation tokens never expire and come without a refresh token; with rotation they last 12 hours and each refresh token is used once.',
  ],
  normalizeTokenResponse(res: TokenResponseIn): TokenResponseOut {
    const body = asObject(res.body);
    if (!body) return { status: res.status, body: res.body };
    if (body['ok'] === false || (typeof body['error'] === 'string' && body['access_token'] === undefined)) {
      const code = typeof body['error'] === 'string' && body['error'] !== '' ? body['error'] : 'invalid_request';
      const status = res.status >= 200 && res.status < 300 ? 400 : res.status;
      const error = INVALID_GRANT.has(code) ? 'invalid_grant' : code;
      return { status, body: error === code ? { error } : { error, error_description: code } };
    }
    let out: Record<string, unknown> = { ...body };
    const user = asObject(body['authed_user']);
    if (typeof out['access_token'] !== 'string' && user && typeof user['access_token'] === 'string') {
      for (const key of ['access_token', 'token_type', 'scope', 'refresh_token', 'expires_in'] as const) {
        if (user[key] !== undefined) out = { ...out, [key]: user[key] };
      }
    }
    const type = out['token_type'];
    if (type === 'bot' || type === 'user' || (type === undefined && typeof out['access_token'] === 'string')) {
      out = { ...out, token_type: 'bearer' };
    }
    return { status: res.status, body: out };
  },
} satisfies ProviderHooks;
