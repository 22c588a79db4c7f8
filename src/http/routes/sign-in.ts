import type { FastifyInstance } from 'fastify';
import { iso } from '../../core/clock.ts';
import { KeywayError } from '../../core/errors.ts';
import { SIGN_IN_CALLBACK_PATH, acceptInvite, memberForIdentity } from '../../access/index.ts';
import type { MemberRecord } from '../../store/index.ts';
import { escapeHtml, parseCookies } from '../pages/html.ts';
import { presentMember } from '../present.ts';
import { CSRF_HEADER, checkCsrf, sessionCookieName, sessionSecretOf } from '../auth.ts';
import type { Services } from '../services.ts';
import type { RouteDeps } from './deps.ts';
import { SIGNED_IN_PATH, completeSignIn, cookie, sendPage, sendProblem } from './sign-in-session.ts';

const NO_SSO = 'Single sign-on is not configured on this Keyway (KEYWAY_OIDC_ISSUER). Ask an operator for a one-time sign-in link: `npx keyway login-link --email you@example.com`.';

/**
 * Sign-in for people: `/auth/login` → the identity provider → `/auth/callback` → a session;
 * `/auth/logout`; a small signed-in page; and `GET /v1/me` (who is calling, with the CSRF token a
 * signed-in page sends back). One-time links and invites are in link-pages.ts.
 */
export function signInRoutes(services: Services, app: FastifyInstance): void {
  const publicOrigin = new URL(services.config.publicUrl).origin;

  app.get<{ Querystring: { org?: string; return_to?: string } }>('/auth/login', async (req, reply) => {
    if (!services.signIn) return sendProblem(reply, new KeywayError('not_found', NO_SSO), 'Sign in');
    try {
      const started = await services.signIn.start({ orgId: req.query.org ?? null, returnTo: req.query.return_to ?? null });
      const c = started.cookie;
      return reply.code(302).header('Set-Cookie', cookie(services, c.name, c.value, c.maxAgeSeconds, SIGN_IN_CALLBACK_PATH))
        .header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(started.redirectTo);
    } catch (e) {
      return sendProblem(reply, e, 'Sign in');
    }
  });

  app.get(SIGN_IN_CALLBACK_PATH, async (req, reply) => {
    if (!services.signIn) return sendProblem(reply, new KeywayError('not_found', NO_SSO));
    try {
      const done = await services.signIn.finish({ callbackUrl: new URL(req.url, services.config.publicUrl), cookies: parseCookies(req.headers.cookie) });
      reply.header('Set-Cookie', cookie(services, done.cookieName, '', 0, SIGN_IN_CALLBACK_PATH));
      const { identity, attempt } = done;
      let member: MemberRecord | null;
      if (attempt.inviteId !== null) {
        if (!identity.email || !identity.emailVerified) throw new KeywayError('forbidden', 'The identity provider did not vouch for your email address, so the invite cannot be matched to you.');
        member = await acceptInvite(services, attempt.inviteId, { name: identity.name ?? undefined, verifiedEmail: identity.email, oidc: identity });
        services.audit.record({ orgId: member.orgId, actor: { type: 'member', id: member.id }, action: 'member.join', detail: { invite: attempt.inviteId, role: member.role, method: 'oidc' } });
      } else {
        member = await memberForIdentity(services.store, identity, attempt.orgId);
      }
      if (!member) {
        throw new KeywayError('forbidden', `You signed in at the identity provider${identity.email ? ` as ${identity.email}` : ''}, but no member of ${attempt.orgId ? 'that organization' : 'any organization'} on this Keyway has that identity${identity.emailVerified ? '' : ' or a verified email matching it'}. Ask an owner or admin for an invite.`);
      }
      return await completeSignIn(req, reply, services, member, 'oidc', attempt.returnTo);
    } catch (e) {
      return sendProblem(reply, e);
    }
  });

  app.post<{ Body: Record<string, string> | undefined }>('/auth/logout', async (req, reply) => {
    const secret = sessionSecretOf(req, services);
    const form = req.headers[CSRF_HEADER] === undefined;
    try {
      if (secret !== undefined) {
        checkCsrf(req, services.sessions.csrfToken(secret), publicOrigin, req.body?.['csrf']);
        const ended = await services.sessions.end(secret);
        if (ended) services.audit.record({ orgId: ended.orgId, actor: { type: 'member', id: ended.memberId }, action: 'member.sign_out', detail: { session: ended.id } });
      }
    } catch (e) {
      return sendProblem(reply, e, 'Not signed out');
    }
    reply.header('Set-Cookie', cookie(services, sessionCookieName(services.config.publicUrl), '', 0)).header('Cache-Control', 'no-store');
    return form ? reply.redirect(SIGNED_IN_PATH, 303) : reply.code(204).send();
  });

  app.get(SIGNED_IN_PATH, async (req, reply) => {
    const secret = sessionSecretOf(req, services);
    const session = secret === undefined ? null : await services.sessions.resolve(secret);
    const member = session ? await services.members.current(session.orgId, session.memberId) : null;
    const org = member ? await services.store.orgs.get(member.orgId) : null;
    if (!secret || !session || !member || !org) {
      return sendPage(reply, 200, 'Signed out', `<h1>Not signed in</h1><p><a href="/auth/login">Sign in</a>${services.signIn ? '' : ' with a one-time link from <code>npx keyway login-link</code>'}.</p>`);
    }
    const csrf = escapeHtml(services.sessions.csrfToken(secret));
    return sendPage(reply, 200, 'Signed in', `<h1 class="ok">Signed in</h1><p>You are ${escapeHtml(member.name)} (${escapeHtml(member.email)}), ${member.role} of ${escapeHtml(org.name)}.</p>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Sign out</button></form>`);
  });

}

/** `GET /v1/me`: who is calling; a signed-in page reads its CSRF token here. */
export function meRoutes({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/me', tag: 'sign-in',
    summary: 'Who is calling: the member, their role and organization; for a signed-in session also the CSRF token to send in X-Keyway-CSRF',
    handler: async ({ principal, req }) => {
      const member = await services.store.members.get(principal.orgId, principal.memberId);
      const org = await services.store.orgs.get(principal.orgId);
      if (!member || !org) throw new KeywayError('not_found', 'No such member.');
      const secret = principal.sessionId ? sessionSecretOf(req, services) : undefined;
      const session = principal.sessionId ? await services.store.sessions.get(principal.orgId, principal.sessionId) : null;
      return {
        member: presentMember(member), org: { id: org.id, name: org.name }, role: member.role,
        via: principal.keyId === null ? 'session' : 'api_key', apiKey: principal.keyId,
        session: session && secret ? {
          id: session.id, method: session.method, expiresAt: iso(session.expiresAt),
          idleExpiresAt: iso(session.lastSeenAt + services.sessions.policy.idleMs), csrfToken: services.sessions.csrfToken(secret),
        } : null,
      };
    },
  });
}
