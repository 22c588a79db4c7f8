import * as oauth from 'oauth4webapi';
import { KeywayError } from '../core/errors.ts';
import { toKeywayError } from './errors.ts';
import { type OAuthContext, asMetadata, clientAuthOf, clientOf, requestOptions } from './metadata.ts';
import { type TokenSet, toTokenSet } from './token-set.ts';
import { idTokenExpectations } from './normalize.ts';
import { hooksFor } from '../catalog/index.ts';

/** RFC 8628 §3.2: without `interval`, clients wait 5 seconds between polls. */
export const DEFAULT_DEVICE_INTERVAL_S = 5;
/** RFC 8628 §3.5: on `slow_down` the interval grows by 5 seconds, for good. */
export const SLOW_DOWN_STEP_S = 5;

/** What the provider answered to a device authorization request, in our terms. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** Only when the provider gives one (it carries the user code, for a QR code or a link). */
  verificationUriComplete: string | null;
  expiresIn: number;
  interval: number;
}

/**
 * Starts a device authorization: the provider returns the code the person types and where.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 */
export async function requestDeviceAuthorization(ctx: OAuthContext, scopes: string[]): Promise<DeviceAuthorization> {
  if (!ctx.provider.deviceAuthorizationEndpoint) {
    throw new KeywayError('invalid_request', `${ctx.provider.definition.name} has no device authorization endpoint, so it cannot use the device flow.`);
  }
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  const params: Record<string, string> = {};
  if (scopes.length > 0) params['scope'] = scopes.join(ctx.provider.definition.scopes.separator);
  try {
    const res = await oauth.deviceAuthorizationRequest(as, client, clientAuthOf(ctx), params, requestOptions(ctx));
    const body = await oauth.processDeviceAuthorizationResponse(as, client, res);
    const interval = typeof body.interval === 'number' && body.interval > 0 ? Math.ceil(body.interval) : DEFAULT_DEVICE_INTERVAL_S;
    return {
      deviceCode: body.device_code, userCode: body.user_code, verificationUri: body.verification_uri,
      verificationUriComplete: typeof body.verification_uri_complete === 'string' && body.verification_uri_complete !== '' ? body.verification_uri_complete : null,
      expiresIn: body.expires_in, interval,
    };
  } catch (e) {
    throw toKeywayError(e, 'Device authorization');
  }
}

/** One poll's result (RFC 8628 §3.5). Anything else the provider says is thrown as a KeywayError. */
export type DevicePoll =
  | { kind: 'tokens'; tokens: TokenSet }
  | { kind: 'pending' }
  | { kind: 'slow_down' }
  | { kind: 'denied' }
  | { kind: 'expired' };

/** The pure half: which RFC 8628 §3.5 answer a failed poll was, or null when it was another error. */
export function devicePollErrorKind(providerError: string | undefined): Exclude<DevicePoll['kind'], 'tokens'> | null {
  switch (providerError) {
    case 'authorization_pending': return 'pending';
    case 'slow_down': return 'slow_down';
    case 'access_denied': return 'denied';
    case 'expired_token': return 'expired';
    default: return null;
  }
}

/**
 * Polls the token endpoint with the device code.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export async function pollDeviceToken(ctx: OAuthContext, deviceCode: string): Promise<DevicePoll> {
  const as = asMetadata(ctx.provider);
  const client = clientOf(ctx);
  try {
    const res = await oauth.deviceCodeGrantRequest(as, client, clientAuthOf(ctx), deviceCode, {
      ...requestOptions(ctx), additionalParameters: ctx.provider.definition.tokenParams,
    });
    // ID-token issuer per the provider's quirk (Microsoft's `common` answers with the tenant's issuer).
    const expected = await idTokenExpectations(as, hooksFor(ctx.provider.definition), res, { needPresence: false });
    const body = await oauth.processDeviceCodeResponse(expected.as, client, res);
    return { kind: 'tokens', tokens: { ...toTokenSet(body, oauth.getValidatedIdTokenClaims(body), ctx.provider.definition.scopes.separator), fromConsent: true } };
  } catch (e) {
    const kind = e instanceof oauth.ResponseBodyError ? devicePollErrorKind(e.error) : null;
    if (kind) return { kind };
    throw toKeywayError(e, 'Device token poll');
  }
}
