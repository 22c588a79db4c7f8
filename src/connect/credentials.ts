import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Actor } from '../audit/index.ts';
import { validateConnectionParams } from '../catalog/index.ts';
import { clientCredentialsGrant } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { TokenCrypto, tokenFields } from '../tokens/index.ts';
import { type ConnectionChoices, blankConnection } from './connection-record.ts';
import { requireGrant } from './grants.ts';
import type { CompleteDeps } from './session-end.ts';

/** `POST /v1/connections`: connections made without a browser. */
export type NewConnectionInput = ConnectionChoices & { integration: string } & (
  | { type: 'client_credentials'; scopes?: string[] | undefined }
  | { type: 'api_key'; apiKey: string }
  | { type: 'basic'; username: string; password: string }
  | ImportedTokens
);

/** Tokens issued elsewhere (a hosted platform, a homegrown table), moved into Keyway. */
export interface ImportedTokens {
  type: 'oauth2';
  accessToken?: string | undefined;
  refreshToken: string;
  /** When the access token expires (ISO-8601); unknown means "refresh before first use". */
  expiresAt?: string | undefined;
  scopes?: string[] | undefined;
}

/**
 * Makes a connection from a credential rather than a person's consent: a client-credentials token
 * (fetched at once; nothing is stored if the provider refuses), or an API key / user name and
 * password the provider's definition says it takes. Every secret goes to the vault.
 */
export async function createCredentialConnection(d: CompleteDeps, orgId: string, actor: Actor, memberId: string | null, input: NewConnectionInput): Promise<ConnectionRecord> {
  const integration = await d.integrations.get(orgId, input.integration);
  const def = d.integrations.definition(integration);
  const params = validateConnectionParams(def, input.params);
  const now = d.clock.now();
  const choices: ConnectionChoices = { ...input, params };
  const base = { id: newId('connection', d.random), orgId, integration, def, ownerMemberId: memberId, choices, account: null, now };
  const crypto = new TokenCrypto(d.vault);
  let conn: ConnectionRecord;
  if (input.type === 'oauth2') {
    conn = await importedConnection(crypto, base, input, integration.scopes, now);
  } else if (input.type === 'client_credentials') {
    requireGrant(def, 'client_credentials');
    const scopes = input.scopes ?? integration.scopes;
    const ctx = await d.integrations.oauthContext(integration, { params });
    const tokens = await clientCredentialsGrant(ctx, scopes);
    conn = blankConnection({ ...base, kind: 'client_credentials', requestedScopes: scopes });
    conn.accessTokenEnc = await crypto.seal(conn, 'access_token', tokens.accessToken);
    conn.refreshTokenEnc = tokens.refreshToken ? await crypto.seal(conn, 'refresh_token', tokens.refreshToken) : null;
    Object.assign(conn, tokenFields(def, tokens, now));
  } else {
    if (def.credential !== input.type) {
      throw new KeywayError('invalid_request', def.credential === 'oauth2'
        ? `${def.name} uses OAuth: connect with POST /v1/connect-sessions${def.grants.includes('client_credentials') ? ', or {"type": "client_credentials"}' : ''}.`
        : `${def.name} takes ${def.credential === 'api_key' ? 'an API key: {"type": "api_key", "apiKey": …}' : 'a user name and password: {"type": "basic", "username": …, "password": …}'}.`);
    }
    conn = blankConnection({ ...base, kind: input.type, requestedScopes: [] });
    conn.accessTokenEnc = await crypto.seal(conn, 'access_token', staticCredential(input));
    conn.tokenType = input.type;
  }
  await d.store.connections.insert(conn);
  d.onConnectionEvent?.('created', conn);
  d.audit.record({ orgId, actor, action: 'connection.create', integrationId: integration.id, connectionId: conn.id, detail: { type: conn.kind, scopes: conn.grantedScopes, ...(input.type === 'oauth2' ? { imported: true } : {}) } });
  return conn;
}

/**
 * The value stored (sealed) for a static credential, as the gateway injects it (src/proxy/inject.ts):
 * the API key, or `user-id ":" password` for Basic, which the gateway base64-encodes.
 * @see https://www.rfc-editor.org/rfc/rfc7617#section-2
 */
function staticCredential(input: { type: 'api_key'; apiKey: string } | { type: 'basic'; username: string; password: string }): string {
  if (input.type === 'api_key') return input.apiKey;
  if (input.username.includes(':')) {
    throw new KeywayError('invalid_request', 'body field "username": a Basic user name cannot contain ":" (RFC 7617 §2).');
  }
  return `${input.username}:${input.password}`;
}

/**
 * An imported token set. Nothing is checked with the provider here: the first refresh proves the
 * refresh token (a bad one turns the connection needs_reauth with the provider's reason). Without an
 * access token, or without its expiry, the connection is due for refresh at once.
 */
async function importedConnection(crypto: TokenCrypto, base: Omit<Parameters<typeof blankConnection>[0], 'kind' | 'requestedScopes'>,
  input: ImportedTokens, defaultScopes: string[], now: number): Promise<ConnectionRecord> {
  let expiresAt: number | null = now;
  if (input.accessToken !== undefined && input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    if (Number.isNaN(expiresAt)) throw new KeywayError('invalid_request', 'body field "expiresAt" must be an ISO-8601 time such as 2026-12-01T10:00:00Z.');
  }
  const scopes = input.scopes ?? defaultScopes;
  const conn = blankConnection({ ...base, kind: 'oauth2', requestedScopes: scopes });
  conn.accessTokenEnc = input.accessToken !== undefined ? await crypto.seal(conn, 'access_token', input.accessToken) : null;
  conn.refreshTokenEnc = await crypto.seal(conn, 'refresh_token', input.refreshToken);
  conn.tokenType = 'bearer';
  conn.expiresAt = input.accessToken !== undefined ? expiresAt : now;
  conn.obtainedAt = input.accessToken !== undefined && expiresAt !== null && expiresAt > now ? now : null;
  return conn;
}
