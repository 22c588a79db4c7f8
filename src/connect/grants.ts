import { KeywayError } from '../core/errors.ts';
import type { Grant, ProviderDefinition } from '../catalog/index.ts';

/** Grants (and request `type`s) Keyway refuses, whoever asks. */
export const REFUSED_GRANTS = ['implicit', 'password'] as const;
export type RefusedGrant = (typeof REFUSED_GRANTS)[number];

/**
 * Why: the implicit grant hands the access token to the browser in a URL fragment, and the resource
 * owner password grant hands the person's password to the client. OAuth 2.1 removed both.
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-10 (omitted grants)
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2 (implicit: SHOULD NOT)
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.4 (password: MUST NOT)
 */
export const OAUTH21_REFUSAL =
  'OAuth 2.1 removed the implicit and resource owner password ("password") grants: the implicit grant exposes the access token in the browser, the password grant gives the person\'s password to the client. Keyway refuses both. Use "authorization_code" (a person connects in the browser), "device_code" (a person approves on another device) or "client_credentials" (no person).';

export function isRefusedGrant(value: string): value is RefusedGrant {
  return (REFUSED_GRANTS as readonly string[]).includes(value);
}

/**
 * The provider must offer the grant. A custom provider's grants are whatever the operator's own
 * authorization server allows, so they are not limited by the (generic) custom definition.
 */
export function requireGrant(def: ProviderDefinition, grant: Grant): void {
  if (def.credential !== 'oauth2') {
    throw new KeywayError('invalid_request', `${def.name} uses ${def.credential === 'api_key' ? 'an API key' : 'a user name and password (Basic)'}, not OAuth: create the connection with POST /v1/connections {"type": "${def.credential}", …}.`);
  }
  if (def.id === 'custom' || def.grants.includes(grant)) return;
  throw new KeywayError('invalid_request', `${def.name} does not offer the ${grant} grant (it offers: ${def.grants.join(', ')}).`);
}
