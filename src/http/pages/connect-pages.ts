import type { FastifyReply } from 'fastify';
import { KeywayError } from '../../core/errors.ts';
import { type ConnectOutcome, type ConnectProblem, PROBLEM_TEXT } from '../../connect/index.ts';
import type { Services } from '../services.ts';
import { escapeHtml, parseCookies, renderPage } from './html.ts';

function send(reply: FastifyReply, status: number, page: ReturnType<typeof renderPage>): FastifyReply {
  return reply.code(status).header('Content-Security-Policy', page.csp).header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'no-referrer').type('text/html; charset=utf-8').send(page.html);
}

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
  const provider = outcome.providerError ? `<p class="small">Provider said: <code>${escapeHtml(outcome.providerError)}</code></p>` : '';
  return renderPage({
    title: 'Not connected', script,
    body: `<h1 class="err">Not connected</h1><p>${escapeHtml(outcome.message)}</p>${provider}<p class="small">Nothing was stored or changed. You can close this tab.</p>`,
  });
}

export function connectPages(services: Services, app: import('fastify').FastifyInstance): void {
  const publicUrl = new URL(services.config.publicUrl);
  const secure = publicUrl.protocol === 'https:';

  app.get<{ Params: { token: string } }>('/connect/:token', async (req, reply) => {
    try {
      const started = await services.connect.startAttempt(req.params.token);
      const c = started.cookie;
      reply.header('Set-Cookie', `${c.name}=${c.value}; Max-Age=${c.maxAgeSeconds}; Path=/oauth/callback/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
      return reply.code(302).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(started.redirectTo);
    } catch (e) {
      const problem: ConnectProblem | null = e instanceof KeywayError && e.code === 'connect_failed' && e.message in PROBLEM_TEXT ? (e.message as ConnectProblem) : null;
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
