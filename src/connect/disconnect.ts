import { KeywayError } from '../core/errors.ts';
import type { Actor } from '../audit/index.ts';
import { type RevocableToken, providerErrorCode, revokeToken } from '../oauth/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import { TokenCrypto } from '../tokens/index.ts';
import type { CompleteDeps } from './session-end.ts';

/** What became of the tokens at the provider. */
export type RevocationResult = 'revoked' | 'failed' | 'not_supported' | 'not_applicable';

export interface DisconnectOutcome {
  revocation: RevocationResult;
  /** What the person should still do (plain ASCII, safe for a header), or null when nothing. */
  advice: string | null;
}

/**
 * Disconnects: the row with its tokens is deleted first, whatever happens next; then, where the
 * provider has a revocation endpoint, the refresh token (else the access token) is revoked there
 * (RFC 7009). A failed or impossible revocation never keeps the tokens: the audit entry says so
 * and tells the person to revoke Keyway's access in the provider's connected-apps settings.
 * A connection someone else disconnected meanwhile (its row already gone) is `not_found`.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export async function disconnect(d: CompleteDeps, conn: ConnectionRecord, actor: Actor): Promise<DisconnectOutcome> {
  const integration = await d.integrations.get(conn.orgId, conn.integrationId);
  const def = d.integrations.definition(integration);
  const held = await heldToken(d, conn);
  // Whoever deleted the row disconnected it: reported, audited and revoked once, by them.
  if ((await d.store.connections.delete(conn.orgId, conn.id)) === 0) throw new KeywayError('not_found', `No connection ${conn.id}: it was disconnected meanwhile.`);
  d.onTokensChanged?.(conn.id);
  d.onConnectionEvent?.('deleted', conn);

  let result: RevocationResult;
  let providerError: string | null = null;
  let reason: string | null = null;
  if (conn.kind === 'api_key' || conn.kind === 'basic') {
    result = 'not_applicable';
  } else if (!d.integrations.resolved(integration).revocationEndpoint) {
    result = 'not_supported';
  } else if (!held.token) {
    result = 'failed';
    reason = held.problem;
  } else {
    try {
      const ctx = await d.integrations.oauthContext(integration, { params: conn.params, kept: conn.providerValues });
      await revokeToken(ctx, held.token.value, held.token.hint);
      result = 'revoked';
    } catch (e) {
      if (!(e instanceof KeywayError)) throw e;
      result = 'failed';
      providerError = providerErrorCode(e) ?? null;
      reason = e.code === 'provider_unavailable' ? 'the revocation endpoint could not be reached'
        : e.code === 'provider_error' ? 'the provider refused the revocation' : 'the revocation request could not be sent';
    }
  }
  const advice = adviceFor(result, def.name, reason);
  d.audit.record({
    orgId: conn.orgId, actor, action: 'connection.delete', outcome: result === 'failed' ? 'error' : 'ok',
    integrationId: conn.integrationId, connectionId: conn.id,
    detail: { type: conn.kind, revocation: result, revokedToken: result === 'revoked' ? held.token?.hint ?? null : null, providerError, ...(advice ? { advice } : {}) },
  });
  return { revocation: result, advice };
}

/** The token to revoke: the refresh token when there is one (it ends the grant), else the access token. */
async function heldToken(d: CompleteDeps, conn: ConnectionRecord): Promise<{ token: { value: string; hint: RevocableToken } | null; problem: string | null }> {
  const crypto = new TokenCrypto(d.vault);
  try {
    if (conn.refreshTokenEnc) return { token: { value: await crypto.open(conn, 'refresh_token', conn.refreshTokenEnc), hint: 'refresh_token' }, problem: null };
    if (conn.accessTokenEnc && conn.kind !== 'api_key' && conn.kind !== 'basic') {
      return { token: { value: await crypto.open(conn, 'access_token', conn.accessTokenEnc), hint: 'access_token' }, problem: null };
    }
    return { token: null, problem: 'no token was stored' };
  } catch (e) {
    if (e instanceof KeywayError) return { token: null, problem: 'the stored token could not be decrypted' };
    throw e;
  }
}

function adviceFor(result: RevocationResult, provider: string, reason: string | null): string | null {
  switch (result) {
    case 'revoked':
      return null;
    case 'not_applicable':
      return `Keyway deleted the stored credential. It still works at ${provider} until you delete or rotate it there.`;
    case 'not_supported':
      return `Keyway deleted the tokens. ${provider} has no revocation endpoint, so to end the access completely remove Keyway from the connected apps (authorized applications) in your ${provider} account settings.`;
    case 'failed':
      return `Keyway deleted the tokens, but revoking them at ${provider} failed (${reason ?? 'unknown reason'}). To be sure the access has ended, remove Keyway from the connected apps (authorized applications) in your ${provider} account settings.`;
  }
}
