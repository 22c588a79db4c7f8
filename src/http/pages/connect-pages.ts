import type { FastifyReply } from 'fastify';
import { KeywayError } from '../../core/errors.ts';
import { type ConnectOutcome, type ConnectProblem, PROBLEM_TEXT } from '../../connect/index.ts';
import type { Services } from '../services.ts';
import { escapeHtml, parseCookies, renderPage } from './html.ts';

function send(reply: FastifyReply, status: number, page: ReturnType<typeof renderPage>): FastifyReply {
  return reply.code(status).header('Content-Security-Policy', page.csp).header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'no-referrer').type('text/html; charset=utf-8').send(page.html);
}

/**
 * Plain guidance for the provider error codes people meet (RFC 6749 §4.1.2.1 and §5.2, OIDC Core
 * §3.1.2.6), shown under the outcome's message. See docs/troubleshooting.md.
 */
const ADMIN_APPROVAL = 'Your organization only lets apps an administrator approved reach your account. Ask your IT admin to approve this app (Microsoft Entra ID: "Grant admin consent"; Google Workspace: mark the app as trusted in the Admin console), then start again from Connect.';
export const PROVIDER_ERROR_ADVICE: Readonly<Record<string, string>> = {
  access_denied: 'You (or a policy at the provider) declined access. If that was a mistake, press Connect again and choose Allow. If you never saw a consent screen, your organization may require an administrator to approve the app first: ask your IT admin.',
  invalid_grant: 'The sign-in code was already used or had expired — this happens after going Back, reloading the page, or waiting too long. Start again from Connect in the dashboard or app, and do not use the Back button.',
  invalid_scope: 'The provider refused one of the permissions (scopes) Keyway asked for: it is misspelled, not enabled for this OAuth app, or not available to your kind of account. An admin should fix the integration\'s scopes (or enable them in the provider\'s app settings), then connect again.',
  admin_policy_enforced: ADMIN_APPROVAL,
  consent_required: ADMIN_APPROVAL,
  interaction_required: 'The provider needs you to do something on its site first (sign in again, accept terms, or get an administrator\'s approval). Start again from Connect; if it repeats, ask your IT admin to approve the app.',
  unauthorized_client: 'The provider does not allow this OAuth app to connect this way. An admin should check the app\'s settings at the provider (allowed grant types, app published or in testing with you as a test user).',
  redirect_uri_mismatch: 'The provider does not know Keyway\'s redirect URI for this integration. An admin should copy it from the dashboard (Integrations) and register it, exactly, in the provider\'s app settings.',
  server_error: 'The provider had a problem on its side. Wait a few minutes and start again from Connect.',
  temporarily_unavailable: 'The provider is busy or down for maintenance. Wait a few minutes and start again from Connect.',
};

/** The end of a connect attempt: tells the person, and the opener (Keyway's own origin only). */
export function outcomePage(outcome: ConnectOutcome, publicOrigin: string): ReturnType<typeof renderPage> {
  const message = {
    type: 'keyway:connect', status: outcome.ok ? 'connected' : 'failed', connectSession: outcome.sessionId,
    connection: outcome.ok ? outcome.connectionId : null, problem: outcome.ok ? null : outcome.problem,
    reauthorized: outcome.ok ? outcome.reauthorized : false,
  };
  const script = `if (window.opener) { window.opener.postMessage(${JSON.stringify(message).replace(/</g, '\\u003c')}, ${JSON.stringify(publicOrigin)}); }`;
  if (outcome.ok) {
    const scopes = outcome.missingScopes.length
      ? `<p>Note: you approved fewer permissions than requested; missing: ${escapeHtml(outcome.missingScopes.join(', '))}.${outcome.reauthorized ? ' Calls that need them will keep failing until you reconnect and approve them.' : ''}</p>` : '';
    const [title, text] = outcome.reauthorized
      ? ['Reconnected', `${escapeHtml(outcome.providerName)} is connected again; everything that used this connection keeps working. You can close this tab.`]
      : ['Connected', `${escapeHtml(outcome.providerName)} is connected. You can close this tab.`];
    return renderPage({ title, script, body: `<h1 class="ok">${title}!</h1><p>${text}</p>${scopes}` });
  }
  const said = outcome.providerErrorDescription ? `: ${escapeHtml(outcome.providerErrorDescription)}` : '';
  const provider = outcome.providerError ? `<p class="small">Provider said: <code>${escapeHtml(outcome.providerError)}</code>${said}</p>` : '';
  const advice = outcome.providerError ? PROVIDER_ERROR_ADVICE[outcome.providerError] : undefined;
  return renderPage({
    title: 'Not connected', script,
    body: `<h1 class="err">Not connected</h1><p>${escapeHtml(outcome.message)}</p>${advice ? `<p><strong>What to do:</strong> ${escapeHtml(advice)}</p>` : ''}${provider}<p class="small">Nothing was stored or changed. You can close this tab.</p>`,
  });
}

export function connectPages(services: Services, app: import('fastify').FastifyInstance): void {
  const publicUrl = new URL(services.config.publicUrl);
  const secure = publicUrl.protocol === 'https:';

  // The path is the connect link itself: no request log line (a reader of the log could finish the connect as themselves).
  app.get<{ Params: { token: string } }>('/connect/:token', { logLevel: 'warn' }, async (req, reply) => {
    try {
      const started = await services.connect.startAttempt(req.params.token);
      const c = started.cookie;
      reply.header('Set-Cookie', `${c.name}=${c.value}; Max-Age=${c.maxAgeSeconds}; Path=/oauth/callback/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
      return reply.code(302).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(started.redirectTo);
    } catch (e) {
      const problem: ConnectProblem | null = e instanceof KeywayError && e.code === 'connect_failed' && e.message in PROBLEM_TEXT ? (e.message as ConnectProblem) : null;
      if (!problem && e instanceof KeywayError && (e.code === 'provider_error' || e.code === 'provider_unavailable')) {
        // The provider refused or could not take the pushed authorization request: a page for the person, not JSON.
        return send(reply, 502, outcomePage({ ok: false, sessionId: null, problem: 'provider_error', message: `${PROBLEM_TEXT.provider_error} (${e.message})` }, publicUrl.origin));
      }
      if (!problem) throw e;
      return send(reply, 400, outcomePage({ ok: false, sessionId: null, problem, message: PROBLEM_TEXT[problem] }, publicUrl.origin));
    }
  });

  app.get<{ Params: { integrationId: string } }>('/oauth/callback/:integrationId', async (req, reply) => {
    const outcome = await services.connect.completeAttempt({
      integrationId: req.params.integrationId,
      callbackUrl: new URL(req.url, services.config.publicUrl),
      cookies: parseCookies(req.headers.cookie),
    });
    return send(reply, outcome.ok ? 200 : 400, outcomePage(outcome, publicUrl.origin));
  });
}
