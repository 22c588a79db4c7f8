import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';
import { toKeywayError } from './errors.ts';
import { type OAuthContext, asMetadata, clientAuthOf, clientOf, requestOptions } from './metadata.ts';

export type RevocableToken = 'refresh_token' | 'access_token';

/**
 * Asks the provider to revoke a token. Revoking the refresh token also ends the access tokens of
 * the same grant where the provider supports it (RFC 7009 §2.1), so callers send it when they have it.
 * Resolves when the provider answered 200 (also for a token it no longer knows, §2.2); rejects with
 * a KeywayError otherwise, keeping the provider's `error`.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function revokeToken(ctx: OAuthContext, token: string, hint: RevocableToken): Promise<void> {
  if (!ctx.provider.revocationEndpoint) {
    throw new KeywayError('invalid_request', `${ctx.provider.definition.name} has no revocation endpoint.`);
  }
  try {
    const res = await oauth.revocationRequest(asMetadata(ctx.provider), clientOf(ctx), clientAuthOf(ctx), token, {
      ...requestOptions(ctx), additionalParameters: { token_type_hint: hint },
    });
    await oauth.processRevocationResponse(res);
  } catch (e) {
    throw toKeywayError(e, 'Token revocation');
  }
}
