import { KeywayError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { ConnectAttemptRecord, ConnectionRecord, ConnectSessionRecord, IntegrationRecord } from '../store/index.ts';
import type { ProviderDefinition } from '../catalog/index.ts';
import { type TokenSet, exchangeAuthorizationCode, providerErrorCode } from '../oauth/index.ts';
import { TokenCrypto, tokenFields } from '../tokens/index.ts';
import { identityFromTokens } from './identity.ts';
import { sha256 } from './hash.ts';
import { BINDING_COOKIE_PREFIX, type ConnectServiceDeps } from './service.ts';
import { type ConnectFailure, type ConnectOutcome, type ConnectProblem, PROBLEM_TEXT } from './outcome.ts';

/** The callback needs what the connect service needs, less the public URL. */
export type CallbackDeps = Omit<ConnectServiceDeps, 'publicUrl'>;

function fail(problem: ConnectProblem, sessionId: string | null, extra: Partial<ConnectFailure> = {}): ConnectFailure {
  return { ok: false, sessionId, problem, message: PROBLEM_TEXT[problem], ...extra };
}

/**
 * The provider sent the browser back to `/oauth/callback/{integration}`. Checks, in order: state
 * (single-use, unexpired), the integration in the URL, the browser binding, RFC 9207 `iss`, the
 * provider's own error; then exchanges the code and stores the connection. On any failure nothing is stored.
 */
export async function completeAttempt(d: CallbackDeps, input: { integrationId: string; callbackUrl: URL; cookies: Record<string, string | undefined> }): Promise<ConnectOutcome> {
  const params = input.callbackUrl.searchParams;
  const state = params.get('state');
  if (!state) return fail('state_invalid', null);
  const now = d.clock.now();
  const attempt = await d.store.connectAttempts.consume(sha256(state), now);
  if (!attempt) return fail('state_invalid', null);
  const sid = attempt.sessionId;
  if (attempt.integrationId !== input.integrationId) return fail('wrong_integration', sid);
  if (attempt.expiresAt <= now) return fail('state_expired', sid);
  const binding = input.cookies[`${BINDING_COOKIE_PREFIX}${attempt.id.slice(3)}`];
  if (!binding || sha256(binding) !== attempt.browserHash) return fail('other_browser', sid);

  const session = await d.store.connectSessions.get(attempt.orgId, sid);
  if (!session) return fail('state_invalid', sid);
  const integration = await d.integrations.get(attempt.orgId, attempt.integrationId);
  const ctx = await d.integrations.oauthContext(integration, { params: session.params });
  const iss = params.get('iss');
  if (iss === null && ctx.provider.issParameterSupported) return fail('issuer_missing', sid);
  if (iss !== null && attempt.issuer !== null && iss !== attempt.issuer) return fail('issuer_mismatch', sid);
  const providerError = params.get('error');
  if (providerError) {
    const out = fail(providerError === 'access_denied' ? 'provider_denied' : 'provider_error', sid, { providerError });
    await markSession(d, attempt, { status: 'failed', error: providerError });
    d.audit.record({ orgId: attempt.orgId, actor: { type: 'browser', id: null }, action: 'connection.connect_failed', outcome: 'error', integrationId: integration.id, detail: { session: sid, providerError } });
    return out;
  }

  let tokens: TokenSet;
  try {
    const verifier = await d.vault.decrypt({ orgId: attempt.orgId, recordId: attempt.id, field: 'pkce_verifier' }, attempt.verifierEnc);
    tokens = await exchangeAuthorizationCode(ctx, {
      callbackUrl: input.callbackUrl, expectedState: state, expectedIssuer: attempt.issuer,
      redirectUri: attempt.redirectUri, codeVerifier: verifier === '' ? null : verifier, nonce: attempt.nonce,
    });
  } catch (e) {
    const code = providerErrorCode(e);
    d.audit.record({ orgId: attempt.orgId, actor: { type: 'browser', id: null }, action: 'connection.connect_failed', outcome: 'error', integrationId: integration.id, detail: { session: sid, providerError: code ?? null, code: e instanceof KeywayError ? e.code : 'internal' } });
    await markSession(d, attempt, { status: 'failed', error: code ?? 'exchange_failed' });
    return fail('exchange_failed', sid, { providerError: code, message: `${PROBLEM_TEXT.exchange_failed}${e instanceof KeywayError ? ` (${e.message})` : ''}` });
  }
  let conn: ConnectionRecord;
  try {
    conn = await storeConnection(d, session, integration, tokens, ctx.provider.definition);
  } catch (e) {
    const message = e instanceof KeywayError ? e.message : 'The connection could not be stored.';
    await markSession(d, attempt, { status: 'failed', error: 'store_failed' });
    d.audit.record({ orgId: attempt.orgId, actor: { type: 'browser', id: null }, action: 'connection.connect_failed', outcome: 'error', integrationId: integration.id, detail: { session: sid, code: e instanceof KeywayError ? e.code : 'internal' } });
    return fail('exchange_failed', sid, { message: `${PROBLEM_TEXT.exchange_failed} (${message})` });
  }
  await markSession(d, attempt, { status: 'connected', connectionId: conn.id, error: null });
  d.audit.record({ orgId: conn.orgId, actor: { type: 'browser', id: null }, action: 'connection.create', integrationId: integration.id, connectionId: conn.id, detail: { session: sid, scopes: conn.grantedScopes } });
  return {
    ok: true, sessionId: sid, connectionId: conn.id, providerName: d.integrations.definition(integration).name,
    missingScopes: conn.requestedScopes.filter((s) => !conn.grantedScopes.includes(s)),
  };
}

async function markSession(d: CallbackDeps, a: ConnectAttemptRecord, patch: { status: 'connected' | 'failed'; connectionId?: string; error: string | null }): Promise<void> {
  await d.store.connectSessions.update(a.orgId, a.sessionId, patch);
}

async function storeConnection(d: CallbackDeps, session: ConnectSessionRecord, integration: IntegrationRecord, tokens: TokenSet, def: ProviderDefinition): Promise<ConnectionRecord> {
  const now = d.clock.now();
  const id = newId('connection', d.random);
  const crypto = new TokenCrypto(d.vault);
  const ref = { orgId: session.orgId, id };
  const account = identityFromTokens(def, tokens);
  const requested = session.scopes ?? integration.scopes;
  const conn: ConnectionRecord = {
    id, orgId: session.orgId, integrationId: integration.id, kind: 'oauth2', ownerMemberId: session.createdByMemberId,
    params: session.params, providerValues: {}, refreshExpiresAt: null,
    name: session.name ?? def.name, externalId: session.externalId, metadata: session.metadata,
    status: 'active', statusReason: null, statusSince: now,
    requestedScopes: requested, grantedScopes: requested,
    accessTokenEnc: await crypto.seal(ref, 'access_token', tokens.accessToken),
    refreshTokenEnc: tokens.refreshToken ? await crypto.seal(ref, 'refresh_token', tokens.refreshToken) : null,
    tokenType: tokens.tokenType, expiresAt: null, obtainedAt: now,
    ...tokenFields(def, tokens, now),
    lastRefreshedAt: null, refreshFailures: 0, tokenVersion: 1,
    accountIssuer: account?.issuer ?? null, accountSubject: account?.subject ?? null, accountLabel: account?.label ?? null,
    createdAt: now, updatedAt: now,
  };
  await d.store.connections.insert(conn);
  return conn;
}
