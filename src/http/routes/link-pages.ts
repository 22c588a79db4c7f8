import type { FastifyInstance } from 'fastify';
import { KeywayError } from '../../core/errors.ts';
import { INVITE_PATH, LOGIN_LINK_PATH, SIGN_IN_CALLBACK_PATH, acceptInvite, openInvite, previewLoginLink, redeemLoginLink } from '../../access/index.ts';
import { escapeHtml } from '../pages/html.ts';
import type { Services } from '../services.ts';
import { completeSignIn, cookie, requireOwnOrigin, sendPage, sendProblem } from './sign-in-session.ts';

/**
 * The pages behind one-time links: a sign-in link (`keyway login-link`) and an invite. Opening a
 * link (GET) changes nothing — link scanners and previews cannot use it up; the button (POST) does.
 * The token is in the path, so these routes write no request log lines.
 */
export function linkPages(services: Services, app: FastifyInstance): void {
  const quiet = { logLevel: 'warn' as const };
  type Token = { Params: { token: string } };

  app.get<Token>(`${LOGIN_LINK_PATH}:token`, quiet, async (req, reply) => {
    const found = await previewLoginLink(services, req.params.token);
    if (!found) return sendProblem(reply, new KeywayError('unauthorized', 'This sign-in link is not valid: it was used already, has expired (links last 15 minutes), or was never issued. Ask for a new one (`npx keyway login-link`).'));
    return sendPage(reply, 200, 'Sign in', `<h1>Sign in to ${escapeHtml(found.org.name)}</h1>
<p>as ${escapeHtml(found.member.name)} (${escapeHtml(found.member.email)}), ${found.member.role}. The link works once.</p>
<form method="post"><button type="submit">Sign in</button></form>`);
  });

  app.post<Token>(`${LOGIN_LINK_PATH}:token`, quiet, async (req, reply) => {
    try {
      requireOwnOrigin(req, services);
      const member = await redeemLoginLink(services, req.params.token);
      return await completeSignIn(req, reply, services, member, 'login_link', null);
    } catch (e) {
      return sendProblem(reply, e);
    }
  });

  app.get<Token>(`${INVITE_PATH}:token`, quiet, async (req, reply) => {
    try {
      const { invite, org } = await openInvite(services, req.params.token);
      const how = services.signIn
        ? `Sign in with single sign-on as ${escapeHtml(invite.email)} to accept.`
        : 'Accepting signs you in; the link then stops working.';
      return sendPage(reply, 200, 'Invitation', `<h1>Join ${escapeHtml(org.name)}</h1>
<p>${escapeHtml(invite.email)} is invited to join as ${invite.role}. ${how}</p>
<form method="post"><button type="submit">${services.signIn ? 'Continue with single sign-on' : 'Accept and sign in'}</button></form>`);
    } catch (e) {
      return sendProblem(reply, e, 'Invitation');
    }
  });

  /**
   * Accepting: with single sign-on configured, the identity provider must vouch for the invited
   * email (the member is made at the callback); without it, the invite link itself is the
   * one-time sign-in, as `keyway login-link` is.
   */
  app.post<Token>(`${INVITE_PATH}:token`, quiet, async (req, reply) => {
    try {
      requireOwnOrigin(req, services);
      const { invite } = await openInvite(services, req.params.token);
      if (services.signIn) {
        const started = await services.signIn.start({ orgId: invite.orgId, inviteId: invite.id });
        const c = started.cookie;
        return reply.code(303).header('Set-Cookie', cookie(services, c.name, c.value, c.maxAgeSeconds, SIGN_IN_CALLBACK_PATH))
          .header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(started.redirectTo, 303);
      }
      const member = await acceptInvite(services, invite.id, {});
      services.audit.record({ orgId: member.orgId, actor: { type: 'member', id: member.id }, action: 'member.join', detail: { invite: invite.id, role: member.role, method: 'invite_link' } });
      return await completeSignIn(req, reply, services, member, 'invite', null);
    } catch (e) {
      return sendProblem(reply, e, 'Invitation');
    }
  });
}
