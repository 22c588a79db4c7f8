import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Actor } from '../audit/index.ts';
import type { OAuthContext, TokenSet } from '../oauth/index.ts';
import type { ConnectionRecord, ConnectSessionRecord, IntegrationRecord } from '../store/index.ts';
import { TokenCrypto, tokenFields } from '../tokens/index.ts';
import { blankConnection } from './connection-record.ts';
import { creatorRefusal, refuseCreator } from './creator.ts';
import { type AccountIdentity, resolveIdentity } from './identity.ts';
import { type ConnectOutcome, PROBLEM_TEXT } from './outcome.ts';
import { reauthorizeConnection } from './reauthorize.ts';
import { type CompleteDeps, afterExchange, endSession, failClaimedSession, failure, sessionEndedMeanwhile } from './session-end.ts';

export type { CompleteDeps } from './session-end.ts';

/** New tokens for a connect session, from the browser callback or the device poller. */
export interface Completion {
  session: ConnectSessionRecord;
  integration: IntegrationRecord;
  ctx: OAuthContext;
  tokens: TokenSet;
  actor: Actor;
  /** Values the definition keeps from the provider's redirect back (browser flows; `callbackValues`, already checked). */
  fromCallback?: Record<string, string>;
}

/**
 * Stores what a finished connect brought: a new connection, or, for a re-authentication session,
 * the existing connection's new tokens (same account only). The session is ended first, once
 * (compare-and-set), so of two tabs finishing one link only the first stores anything; the other
 * is told the link was already used. Marks the session and audits either way.
 */
export async function finishConnect(d: CompleteDeps, c: Completion): Promise<ConnectOutcome> {
  const { session } = c;
  if (session.reauthConnectionId !== null) return reauthorizeConnection(d, c);
  const refusal = await afterExchange(() => creatorRefusal(d, session));
  if (refusal) return refuseCreator(d, c, refusal);
  let conn: ConnectionRecord;
  try {
    conn = await sealedConnection(d, c, await identityOrNull(c));
  } catch (e) {
    return notStored(d, c, e, false);
  }
  if (!(await afterExchange(() => endSession(d, session, { status: 'connected', connectionId: conn.id, error: null }, d.clock.now())))) {
    return sessionEndedMeanwhile(d, session, c.actor);
  }
  try {
    await afterExchange(() => d.store.connections.insert(conn));
  } catch (e) {
    return notStored(d, c, e, true);
  }
  d.onConnectionEvent?.('created', conn);
  d.audit.record({ orgId: conn.orgId, actor: c.actor, action: 'connection.create', integrationId: c.integration.id, connectionId: conn.id, detail: { session: session.id, grant: session.grant, scopes: conn.grantedScopes } });
  return {
    ok: true, sessionId: session.id, connectionId: conn.id, providerName: c.integration.name,
    reauthorized: false, missingScopes: conn.requestedScopes.filter((s) => !conn.grantedScopes.includes(s)),
  };
}

/**
 * The connection could not be stored: the session ends failed. `claimed`: this completion had
 * already ended it as connected (`failClaimedSession`).
 */
async function notStored(d: CompleteDeps, c: Completion, e: unknown, claimed: boolean): Promise<ConnectOutcome> {
  const { session } = c;
  if (claimed) await failClaimedSession(d, session);
  else if (!(await endSession(d, session, { status: 'failed', error: 'store_failed' }))) return sessionEndedMeanwhile(d, session, c.actor);
  const message = e instanceof KeywayError ? e.message : 'The connection could not be stored.';
  d.audit.record({ orgId: session.orgId, actor: c.actor, action: 'connection.connect_failed', outcome: 'error', integrationId: c.integration.id, detail: { session: session.id, code: e instanceof KeywayError ? e.code : 'internal' } });
  return failure('exchange_failed', session.id, { message: `${PROBLEM_TEXT.exchange_failed} (${message})` });
}

/**
 * A first connect records who the account is when it can; if the provider will not say, the
 * connection is still made (a later re-authentication then records it).
 */
async function identityOrNull(c: Completion): Promise<AccountIdentity | null> {
  try {
    return await resolveIdentity(c.ctx, c.tokens, c.session.params);
  } catch (e) {
    if (e instanceof KeywayError) return null;
    throw e;
  }
}

/** The new connection's row with its tokens sealed, not yet stored. */
async function sealedConnection(d: CompleteDeps, c: Completion, account: AccountIdentity | null): Promise<ConnectionRecord> {
  const { session, integration, tokens } = c;
  const now = d.clock.now();
  const def = c.ctx.provider.definition;
  const crypto = new TokenCrypto(d.vault);
  const conn = blankConnection({
    id: newId('connection', d.random), orgId: session.orgId, integration, def, kind: 'oauth2',
    ownerMemberId: session.createdByMemberId, choices: session, requestedScopes: session.scopes ?? integration.scopes, account, now,
  });
  conn.accessTokenEnc = await crypto.seal(conn, 'access_token', tokens.accessToken);
  conn.refreshTokenEnc = tokens.refreshToken ? await crypto.seal(conn, 'refresh_token', tokens.refreshToken) : null;
  Object.assign(conn, tokenFields(def, tokens, now, undefined, c.fromCallback));
  return conn;
}
