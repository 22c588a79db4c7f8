import * as oauth from 'oauth4webapi';
import { toKeywayError } from './errors.ts';
import { type OAuthContext, asMetadata, clientAuthOf, clientOf, requestOptions } from './metadata.ts';
import { type TokenSet, toTokenSet } from './token-set.ts';

/**
 * Client Credentials grant: a token for the client itself, no person involved. Used both to create
 * a machine connection and, later, to renew its token (there is no refresh token, RFC 6749 §4.4.3).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function clientCredentialsGrant(ctx: OAuthContext, scopes: string[]): Promise<TokenSet> {
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  const separator = ctx.provider.definition.scopes.separator;
  const params: Record<string, string> = { ...ctx.provider.definition.tokenParams };
  if (scopes.length > 0) params['scope'] = scopes.join(separator);
  try {
    const res = await oauth.clientCredentialsGrantRequest(as, client, clientAuthOf(ctx), params, requestOptions(ctx));
    const body = await oauth.processClientCredentialsResponse(as, client, res);
    return toTokenSet(body, undefined, separator);
  } catch (e) {
    throw toKeywayError(e, 'Client credentials grant');
  }
}
