import * as oauth from 'oauth4webapi';
import { hooksFor } from '../catalog/index.ts';
import { toKeywayError } from './errors.ts';
import { idTokenExpectations } from './normalize.ts';
import { type OAuthContext, asMetadata, clientAuthOf, clientOf, requestOptions } from './metadata.ts';
import { type TokenSet, toTokenSet } from './token-set.ts';

/**
 * Refresh Token grant. Sends and validates; deciding what to store is the caller's.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshAccessToken(ctx: OAuthContext, refreshToken: string): Promise<TokenSet> {
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  try {
    const res = await oauth.refreshTokenGrantRequest(as, client, clientAuthOf(ctx), refreshToken, {
      ...requestOptions(ctx), additionalParameters: ctx.provider.definition.tokenParams,
    });
    const expected = await idTokenExpectations(as, hooksFor(ctx.provider.definition), res, { needPresence: false });
    const body = await oauth.processRefreshTokenResponse(expected.as, client, res);
    return toTokenSet(body, oauth.getValidatedIdTokenClaims(body), ctx.provider.definition.scopes.separator);
  } catch (e) {
    throw toKeywayError(e, 'Token refresh');
  }
}
