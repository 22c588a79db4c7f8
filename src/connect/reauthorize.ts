import { KeywayError } from '../core/errors.ts';
import { type OAuthContext, revokeToken } from '../oauth/index.ts';
import type { ConnectionRecord, ConnectSessionRecord } from '../store/index.ts';
import { TokenCrypto, statusPatch, tokenFields } from '../tokens/index.ts';
import type { Completion } from './complete.ts';
import { creatorRefusal, refuseCreator } from './creator.ts';
import { type CompleteDeps, afterExchange, endSession, failClaimedSession, failure, sessionEndedMeanwhile } from './session-end.ts';
import { type AccountIdentity, compareAccount, describeAccount, resolveIdentity } from './identity.ts';
import type { ConnectOutcome } from './outcome.ts';

/**
 * Completes a re-authentication: the same connection (id, name, externalId, metadata, owner and
 * everything referring to it) gets the new tokens and granted scopes, but only when the person
 * signed in as the account it belongs to (issuer + subject). Otherwise nothing changes and the
 * refusal is audited; the new tokens are revoked at the provider when they are another account's,
 * and only dropped when Keyway could not tell whose they are.
 *
 * Started by someone other than the owner (an admin, or a member the connection is shared with to
 * manage), it is a transfer instead: their account's tokens replace the old ones whatever account
 * they are, they become the owner, and the previous owner's tokens are revoked at the provider.
 */
export async function reauthorizeConnection(d: CompleteDeps, c: Completion): Promise<ConnectOutcome> {
  const { session, integration } = c;
  const conn = await afterExchange(() => d.store.connections.get(session.orgId, session.reauthConnectionId ?? ''));
  if (!conn || conn.integrationId !== integration.id) {
    if (!(await endSession(d, session, { status: 'failed', error: 'reauth_target_gone' }))) return sessionEndedMeanwhile(d, session, c.actor);
    await revokeQuietly(c.ctx, c.tokens.refreshToken ?? c.tokens.accessToken, c.tokens.refreshToken ? 'refresh_token' : 'access_token');
    return failure('reauth_target_gone', session.id);
  }
  const refusal = await afterExchange(() => creatorRefusal(d, session, conn));
  if (refusal) return refuseCreator(d, c, refusal);
  let fresh: AccountIdentity | null;
  try {
    fresh = await resolveIdentity(c.ctx, c.tokens, c.session.params);
  } catch (e) {
    if (!(e instanceof KeywayError)) throw e;
    fresh = null;
  }
  const transfer = isTransfer(session, conn);
  const match = transfer ? 'first' : compareAccount(conn, fresh);
  if (match === 'other' || match === 'unverifiable') return refuse(d, c, conn, fresh, match);

  const now = d.clock.now();
  const patch = await tokenPatch(d, c, conn, { fresh, transfer, now });
  // Revoked only when the tokens are known to be another account's: the same account's grant may hold the new ones too.
  const previousToken = transfer && compareAccount(conn, fresh) === 'other' ? await heldRefreshToken(new TokenCrypto(d.vault), conn) : null;
  // The session ends first, once: of two tabs finishing one link, only the first replaces the tokens.
  if (!(await afterExchange(() => endSession(d, session, { status: 'connected', connectionId: conn.id, error: null }, now)))) {
    return sessionEndedMeanwhile(d, session, c.actor);
  }
  try {
    await afterExchange(() => d.store.connections.replaceTokens(conn.orgId, conn.id, patch));
  } catch (e) {
    await failClaimedSession(d, session);
    throw e;
  }
  d.onTokensChanged?.(conn.id);
  d.onConnectionEvent?.('reauthorized', { ...conn, ...patch });
  if (patch.status !== conn.status) d.onStatusChange?.(conn, { ...conn, ...patch }); // needs_reauth or refresh_failing → active
  const requested = patch.requestedScopes ?? conn.requestedScopes;
  const granted = patch.grantedScopes ?? requested;
  const missingScopes = requested.filter((s) => !granted.includes(s));
  d.audit.record({
    orgId: conn.orgId, actor: c.actor, action: 'connection.reauthorize', integrationId: integration.id, connectionId: conn.id,
    detail: { session: session.id, grant: session.grant, scopes: granted, missingScopes, newRefreshToken: c.tokens.refreshToken !== null },
  });
  if (transfer) {
    const revoked = previousToken ? await revokeQuietly(c.ctx, previousToken, 'refresh_token') : false;
    d.audit.record({
      orgId: conn.orgId, actor: c.actor, action: 'connection.transfer', integrationId: integration.id, connectionId: conn.id,
      detail: { session: session.id, fromMember: conn.ownerMemberId, toMember: session.createdByMemberId, previousTokensRevoked: revoked },
    });
  }
  return { ok: true, sessionId: session.id, connectionId: conn.id, providerName: integration.name, reauthorized: true, missingScopes };
}

/** The connection's new token columns, scopes, status and (for a transfer) owner and account. */
async function tokenPatch(d: CompleteDeps, c: Completion, conn: ConnectionRecord,
  o: { fresh: AccountIdentity | null; transfer: boolean; now: number }): Promise<Partial<ConnectionRecord>> {
  const { fresh, transfer, now } = o;
  const crypto = new TokenCrypto(d.vault);
  const requested = c.session.scopes ?? conn.requestedScopes;
  // A provider that sends no new refresh token on a reconnect leaves the old one valid: keep it,
  // unless it is known to have expired (then the new access token is used until it expires).
  // A transfer never keeps the previous owner's refresh token: it acts as them.
  const keepOld = !transfer && (conn.refreshExpiresAt === null || conn.refreshExpiresAt > now);
  const previous = keepOld ? conn : { ...conn, refreshExpiresAt: null };
  return {
    accessTokenEnc: await crypto.seal(conn, 'access_token', c.tokens.accessToken),
    refreshTokenEnc: c.tokens.refreshToken ? await crypto.seal(conn, 'refresh_token', c.tokens.refreshToken) : keepOld ? conn.refreshTokenEnc : null,
    ...tokenFields(c.ctx.provider.definition, c.tokens, now, previous, c.fromCallback),
    requestedScopes: requested,
    // RFC 6749 §5.1: no `scope` in the response means the requested scopes were granted.
    grantedScopes: c.tokens.scopes ?? requested,
    refreshFailures: 0,
    ...statusPatch(conn, 'active', null, now),
    ...(fresh ? { accountIssuer: fresh.issuer, accountSubject: fresh.subject, accountLabel: fresh.label ?? conn.accountLabel } : {}),
    ...(transfer ? { ownerMemberId: c.session.createdByMemberId, accountIssuer: fresh?.issuer ?? null, accountSubject: fresh?.subject ?? null, accountLabel: fresh?.label ?? null } : {}),
    updatedAt: now,
  };
}

async function refuse(d: CompleteDeps, c: Completion, conn: ConnectionRecord, fresh: AccountIdentity | null, match: 'other' | 'unverifiable'): Promise<ConnectOutcome> {
  const owner = describeAccount(conn.accountLabel, conn.accountSubject);
  const problem = match === 'other' ? 'account_mismatch' : 'account_unverifiable';
  if (!(await endSession(d, c.session, { status: 'failed', error: problem }))) return sessionEndedMeanwhile(d, c.session, c.actor);
  // Another account's tokens are revoked. Unverifiable ones are only dropped: they may be the same
  // account's, and revoking them ends the whole grant at many providers — the connection's own tokens with it.
  const revoked = match === 'other'
    ? await revokeQuietly(c.ctx, c.tokens.refreshToken ?? c.tokens.accessToken, c.tokens.refreshToken ? 'refresh_token' : 'access_token')
    : false;
  d.audit.record({
    orgId: conn.orgId, actor: c.actor, action: 'connection.reauth_refused', outcome: 'error', integrationId: conn.integrationId, connectionId: conn.id,
    detail: { session: c.session.id, reason: problem, expectedAccount: owner, signedInAccount: fresh ? describeAccount(fresh.label, fresh.subject) : null, newTokensRevoked: revoked },
  });
  const provider = c.integration.name;
  const message = match === 'other'
    ? `This connection belongs to the ${provider} account ${owner}, but you signed in as ${describeAccount(fresh?.label ?? null, fresh?.subject ?? null)}. Nothing was changed. Sign in to ${provider} as ${owner} and start again.`
    : `This connection belongs to the ${provider} account ${owner}, and Keyway could not tell which account you signed in with. Nothing was changed. Start again.`;
  return failure(problem, c.session.id, { message });
}

/** Revokes tokens Keyway will not keep; the outcome is returned for the audit entry. */
async function revokeQuietly(ctx: OAuthContext, token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
  if (!ctx.provider.revocationEndpoint) return false;
  try {
    await revokeToken(ctx, token, hint);
    return true;
  } catch (e) {
    if (e instanceof KeywayError) return false;
    throw e;
  }
}

/** A re-authentication started by someone other than the connection's owner transfers it to them. */
function isTransfer(session: ConnectSessionRecord, conn: ConnectionRecord): boolean {
  return session.createdByMemberId !== null && session.createdByMemberId !== conn.ownerMemberId;
}

/** The previous owner's refresh token, to revoke after a transfer; null when there is none to revoke. */
async function heldRefreshToken(crypto: TokenCrypto, conn: ConnectionRecord): Promise<string | null> {
  if (!conn.refreshTokenEnc) return null;
  try {
    return await crypto.open(conn, 'refresh_token', conn.refreshTokenEnc);
  } catch (e) {
    if (e instanceof KeywayError) return null; // undecryptable: nothing Keyway can revoke; the audit says not revoked
    throw e;
  }
}
