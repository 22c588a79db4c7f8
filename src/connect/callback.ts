import { KeywayError } from '../core/errors.ts';
import { callbackValues } from '../catalog/index.ts';
import type { Actor } from '../audit/index.ts';
import type { ConnectSessionRecord } from '../store/index.ts';
import { type TokenSet, exchangeAuthorizationCode, providerSaid, providerText } from '../oauth/index.ts';
import { sha256 } from './hash.ts';
import { BINDING_COOKIE_PREFIX } from './binding.ts';
import { finishConnect } from './complete.ts';
import { type CompleteDeps, type SessionEnd, endSession, endedProblem, failure as fail, sessionEndedMeanwhile } from './session-end.ts';
import { type ConnectFailure, type ConnectOutcome, PROBLEM_TEXT } from './outcome.ts';

/** The callback needs what the connect service needs, less the public URL. */
export type CallbackDeps = CompleteDeps;

const BROWSER: Actor = { type: 'browser', id: null };

/**
 * The provider sent the browser back to `/oauth/callback/{integration}`. Checks, in order: state
 * (single-use, unexpired), the integration in the URL, the browser binding, the session (still
 * pending and unexpired: it completes once), RFC 9207 `iss`, the provider's own error; then
 * exchanges the code and stores the connection (or, for a re-authentication, the connection's new
 * tokens). On any failure nothing is stored.
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
  // A session completes once: a link finished in another tab, declined, failed or expired stays so.
  const ended = endedProblem(session, now);
  if (ended) return fail(ended, sid);
  const integration = await d.integrations.get(attempt.orgId, attempt.integrationId);
  const ctx = await d.integrations.oauthContext(integration, { params: session.params });
  const iss = params.get('iss');
  if (iss === null && ctx.provider.issParameterSupported) return fail('issuer_missing', sid);
  if (iss !== null && attempt.issuer !== null && iss !== attempt.issuer) return fail('issuer_mismatch', sid);
  const providerError = params.get('error');
  if (providerError) {
    // The provider's own words (RFC 6749 §4.1.2.1), cleaned and bounded: they reach the page and the session.
    const said = { error: providerText(providerError, 100) ?? 'error', description: providerText(params.get('error_description'), 300) };
    const denied = said.error === 'access_denied';
    // The person said no (as in the device flow): `denied`, so an app can tell it from a failure.
    return endFailed(d, session, { status: denied ? 'denied' : 'failed', error: said.error }, { providerError: said.error },
      fail(denied ? 'provider_denied' : 'provider_error', sid, { providerError: said.error, providerErrorDescription: said.description }));
  }
  if (!params.get('code')) return endFailed(d, session, { status: 'failed', error: 'code_missing' }, { code: 'code_missing' }, fail('code_missing', sid));

  // Values the definition keeps from this redirect (QuickBooks' realmId) are checked before the code is used.
  let fromCallback: Record<string, string>;
  try {
    fromCallback = callbackValues(ctx.provider.definition, params);
  } catch (e) {
    const message = e instanceof KeywayError ? e.message : PROBLEM_TEXT.provider_error;
    return endFailed(d, session, { status: 'failed', error: 'callback_value_refused' }, { code: 'callback_value_refused' }, fail('provider_error', sid, { message }));
  }

  let tokens: TokenSet;
  try {
    const verifier = await d.vault.decrypt({ orgId: attempt.orgId, recordId: attempt.id, field: 'pkce_verifier' }, attempt.verifierEnc);
    tokens = await exchangeAuthorizationCode(ctx, {
      callbackUrl: input.callbackUrl, expectedState: state, expectedIssuer: attempt.issuer,
      redirectUri: attempt.redirectUri, codeVerifier: verifier === '' ? null : verifier, nonce: attempt.nonce,
    });
  } catch (e) {
    // What the provider said, when it said something; otherwise Keyway's own account of what went wrong.
    const said = providerSaid(e);
    const message = said.error || !(e instanceof KeywayError) ? PROBLEM_TEXT.exchange_failed : `${PROBLEM_TEXT.exchange_failed} (${e.message})`;
    return endFailed(d, session, { status: 'failed', error: said.error ?? 'exchange_failed' }, { providerError: said.error ?? null, code: e instanceof KeywayError ? e.code : 'internal' },
      fail('exchange_failed', sid, { providerError: said.error, providerErrorDescription: said.description, message }));
  }
  // The connection is made for whoever started the session (DESIGN.md "who acts"); the browser only carried it.
  const actor: Actor = session.createdByMemberId ? { type: 'member', id: session.createdByMemberId } : BROWSER;
  return finishConnect(d, { session, integration, ctx, tokens, actor, fromCallback });
}

/** Ends the session failed (or denied) and audits it; if it had ended meanwhile (another tab), says that instead. */
async function endFailed(d: CallbackDeps, session: ConnectSessionRecord, end: SessionEnd, detail: Record<string, unknown>, out: ConnectFailure): Promise<ConnectOutcome> {
  if (!(await endSession(d, session, end))) return sessionEndedMeanwhile(d, session, BROWSER, { withTokens: false });
  d.audit.record({ orgId: session.orgId, actor: BROWSER, action: 'connection.connect_failed', outcome: 'error', integrationId: session.integrationId, detail: { session: session.id, ...detail } });
  return out;
}
