import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';
import { hooksFor } from '../catalog/index.ts';
import { toKeywayError } from './errors.ts';
import { idTokenExpectations } from './normalize.ts';
import { type OAuthContext, asMetadata, clientAuthOf, clientOf, requestOptions } from './metadata.ts';
import { type TokenSet, toTokenSet } from './token-set.ts';

export interface AuthorizationRequest {
  redirectUri: string;
  scopes: string[];
  state: string;
  /** PKCE S256 challenge; null only when the definition says the provider rejects PKCE. */
  codeChallenge: string | null;
  nonce: string | null;
  extraParams?: Record<string, string>;
}

/**
 * The URL the browser is sent to (RFC 6749 §4.1.1, PKCE per RFC 7636 §4.3, `nonce` per OIDC Core §3.1.2.1).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function buildAuthorizationUrl(ctx: OAuthContext, req: AuthorizationRequest): URL {
  const url = authorizationEndpoint(ctx);
  for (const [k, v] of authorizationParams(ctx, req)) url.searchParams.set(k, v);
  return url;
}

/**
 * With pushed authorization requests (RFC 9126): the same parameters are POSTed to the provider's
 * PAR endpoint first, client-authenticated, and the browser is sent with only `client_id` and the
 * `request_uri` the provider gave back — nothing of the request travels through the browser.
 * @see https://www.rfc-editor.org/rfc/rfc9126
 */
export async function pushAuthorizationRequest(ctx: OAuthContext, req: AuthorizationRequest): Promise<URL> {
  const url = authorizationEndpoint(ctx);
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  let requestUri: string;
  try {
    const res = await oauth.pushedAuthorizationRequest(as, client, clientAuthOf(ctx), authorizationParams(ctx, req), requestOptions(ctx));
    requestUri = (await oauth.processPushedAuthorizationResponse(as, client, res)).request_uri;
  } catch (e) {
    throw toKeywayError(e, 'Pushed authorization request');
  }
  url.searchParams.set('client_id', ctx.client.clientId);
  url.searchParams.set('request_uri', requestUri);
  return url;
}

function authorizationEndpoint(ctx: OAuthContext): URL {
  const endpoint = ctx.provider.authorizationEndpoint;
  if (!endpoint) throw new KeywayError('invalid_request', 'This integration has no authorization endpoint; it cannot use the authorization code grant.');
  return new URL(endpoint);
}

function authorizationParams(ctx: OAuthContext, req: AuthorizationRequest): URLSearchParams {
  const p = new URLSearchParams();
  p.set('response_type', 'code');
  p.set('client_id', ctx.client.clientId);
  p.set('redirect_uri', req.redirectUri);
  const scopes = ctx.provider.definition.scopes;
  if (req.scopes.length > 0) p.set(scopes.param, req.scopes.join(scopes.separator));
  p.set('state', req.state);
  if (req.codeChallenge) {
    p.set('code_challenge', req.codeChallenge);
    p.set('code_challenge_method', 'S256');
  }
  if (req.nonce) p.set('nonce', req.nonce);
  for (const [k, v] of Object.entries({ ...ctx.provider.definition.authParams, ...req.extraParams })) p.set(k, v);
  return p;
}

export interface CodeExchange {
  /** The full callback URL as the browser brought it back. */
  callbackUrl: URL;
  expectedState: string;
  /** The issuer the attempt started with; RFC 9207 `iss` must equal it. */
  expectedIssuer: string | null;
  redirectUri: string;
  codeVerifier: string | null;
  nonce: string | null;
}

/**
 * Validates the authorization response (state, RFC 9207 `iss`, error parameters) and exchanges the
 * code server-to-server (RFC 6749 §4.1.3).
 * @see https://www.rfc-editor.org/rfc/rfc9207
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function exchangeAuthorizationCode(ctx: OAuthContext, ex: CodeExchange): Promise<TokenSet> {
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  const iss = ex.callbackUrl.searchParams.get('iss');
  if (iss !== null && ex.expectedIssuer !== null && iss !== ex.expectedIssuer) {
    throw new KeywayError('connect_failed', 'The authorization response came from a different issuer than the one this attempt started with (RFC 9207 mix-up defence). Start again from Connect.');
  }
  // A provider configured without an issuer cannot have its `iss` checked (RFC 9207 §2.4): the
  // per-integration redirect URI is then the mix-up defence, and the parameter is set aside.
  const callback = new URL(ex.callbackUrl);
  if (ex.expectedIssuer === null) callback.searchParams.delete('iss');
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, callback, ex.expectedState);
  } catch (e) {
    throw toKeywayError(e, 'Authorization');
  }
  try {
    const res = await oauth.authorizationCodeGrantRequest(as, client, clientAuthOf(ctx), params, ex.redirectUri,
      ex.codeVerifier ?? oauth.nopkce, { ...requestOptions(ctx), additionalParameters: ctx.provider.definition.tokenParams });
    // A nonce, sent only with `openid`, is checked in the ID token; a response with no ID token has nothing
    // to replay; an ID token answering a request without a nonce must carry none.
    const expected = await idTokenExpectations(as, hooksFor(ctx.provider.definition), res, { needPresence: ex.nonce !== null });
    const body = await oauth.processAuthorizationCodeResponse(expected.as, client, res, {
      expectedNonce: ex.nonce !== null && expected.hasIdToken ? ex.nonce : oauth.expectNoNonce,
    });
    return { ...toTokenSet(body, oauth.getValidatedIdTokenClaims(body), ctx.provider.definition.scopes.separator), fromConsent: true };
  } catch (e) {
    throw toKeywayError(e, 'Code exchange');
  }
}
