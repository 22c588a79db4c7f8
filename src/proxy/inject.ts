import type { ProviderDefinition } from '../catalog/index.ts';
import type { ConnectionKind } from '../store/index.ts';
import { KeywayError } from '../core/errors.ts';
import { refuseRawHash } from './path.ts';

export type Injection = ProviderDefinition['api']['inject'];

/** Where the credential goes on one proxied call. */
export interface Credential {
  /** `[name, value]` to add to the request headers, or null. */
  header: [string, string] | null;
  /** `name=value`, already encoded, to add to the query string, or null. */
  query: string | null;
  /** Lower-case header name the caller may not send themselves (it carries the credential). */
  reserved: string | null;
}

/**
 * The credential as the provider definition says (`api.inject`): in a header with a prefix
 * (`Authorization: Bearer …`, `X-Api-Key: …`) or as a query parameter.
 *
 * - `oauth2`, `client_credentials`: the access token.
 * - `api_key`: the stored key (kept where OAuth connections keep their access token).
 * - `basic`: the stored `username:password`, sent as `Basic base64(username:password)` (RFC 7617)
 *   in the definition's header (default `Authorization`); the definition's prefix is not used.
 *
 * @see RFC 6750 §2.1 (Bearer header) https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 * @see RFC 7617 §2 (Basic) https://www.rfc-editor.org/rfc/rfc7617#section-2
 */
export function credentialFor(kind: ConnectionKind, inject: Injection, secret: string): Credential {
  if (kind !== 'basic' && inject.in === 'header') refuseUnsendable(secret); // Basic is sent base64-encoded
  if (kind === 'basic') {
    const name = inject.in === 'header' ? inject.name : 'Authorization';
    return { header: [name, `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`], query: null, reserved: name.toLowerCase() };
  }
  if (inject.in === 'query') {
    return { header: null, query: `${encodeURIComponent(inject.name)}=${encodeURIComponent(secret)}`, reserved: null };
  }
  return { header: [inject.name, `${inject.prefix}${secret}`], query: null, reserved: inject.name.toLowerCase() };
}

/** What an HTTP header value may hold: tabs, visible ASCII and Latin-1 (RFC 9110 §5.5; Node refuses the rest). */
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A stored credential that cannot go in a header (a line break pasted with an API key, a character
 * beyond Latin-1) would be refused by the HTTP client as if the caller's request were at fault: say
 * it is the connection's. Made once per secret (`CredentialMemo`), not per call.
 */
function refuseUnsendable(secret: string): void {
  if (HEADER_SAFE.test(secret)) return;
  throw new KeywayError('conflict', 'The connection\'s stored credential cannot be sent in an HTTP header: it holds a line break, a control character or a character outside Latin-1. Replace the connection with one holding the credential exactly as the provider issued it.',
    { details: { reason: 'credential_unsendable' } });
}

/**
 * The credential last made for one connection's target, made again only when the secret (a
 * refreshed token) or the connection's kind changes: the gateway sends the same credential on every
 * call until then, and making it anew each time cost a string, a header pair and an object.
 */
export class CredentialMemo {
  #kind: ConnectionKind | null = null;
  #secret = '';
  #credential: Credential | null = null;

  for(kind: ConnectionKind, inject: Injection, secret: string): Credential {
    if (this.#credential !== null && secret === this.#secret && kind === this.#kind) return this.#credential;
    const made = credentialFor(kind, inject, secret);
    this.#kind = kind;
    this.#secret = secret;
    this.#credential = made;
    return made;
  }
}

/**
 * The query string sent upstream: the caller's, as received, with the credential parameter added
 * (and a caller's own parameter of that name removed, so only Keyway's is sent). A raw `#` in it is
 * refused (`refuseRawHash`), whatever the credential, so one rule holds for every connection.
 */
export function upstreamQuery(callerQuery: string | null, inject: Injection, credential: Credential): string {
  if (callerQuery !== null) refuseRawHash(callerQuery, 'query');
  if (credential.query === null) return callerQuery === null ? '' : `?${callerQuery}`;
  const name = encodeURIComponent(inject.name);
  const kept = callerQuery === null || callerQuery === '' ? [] : callerQuery.split('&').filter((p) => {
    const key = p.split('=', 1)[0]!;
    return key !== name && safeDecode(key) !== inject.name;
  });
  kept.push(credential.query);
  return `?${kept.join('&')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s; // not valid percent-encoding: compared as sent
  }
}
