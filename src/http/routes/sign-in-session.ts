import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeywayError } from '../../core/errors.ts';
import type { MemberRecord, SignInMethod } from '../../store/index.ts';
import { escapeHtml, renderPage } from '../pages/html.ts';
import { sessionCookieName, sessionSecretOf } from '../auth.ts';
import type { Services } from '../services.ts';

/** Where a browser lands after signing in when it asked for nowhere else. */
export const SIGNED_IN_PATH = '/auth/signed-in';

export function sendPage(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  const page = renderPage({ title, body });
  // same-origin, not no-referrer: with no-referrer Chromium posts this page's form with `Origin: null`,
  // which the own-origin check refuses. The link's token still never leaves for another site.
  return reply.code(status).header('Content-Security-Policy', page.csp).header('Cache-Control', 'no-store')
    .header('Referrer-Policy', 'same-origin').type('text/html; charset=utf-8').send(page.html);
}

/** A page that says what went wrong and what to do; the status follows the error's code. */
export function sendProblem(reply: FastifyReply, e: unknown, title = 'Not signed in'): FastifyReply {
  if (!(e instanceof KeywayError)) throw e;
  const status = e.code === 'forbidden' ? 403 : e.code === 'not_found' ? 404 : e.code === 'conflict' ? 409 : e.code === 'unauthorized' ? 400 : 502;
  return sendPage(reply, status, title, `<h1 class="err">${escapeHtml(title)}</h1><p>${escapeHtml(e.message)}</p>`);
}

function secure(services: Services): boolean {
  return new URL(services.config.publicUrl).protocol === 'https:';
}

/** A cookie of ours: HttpOnly, SameSite=Lax, Secure over https. */
export function cookie(services: Services, name: string, value: string, maxAgeSeconds: number, path = '/'): string {
  return `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=${path}; HttpOnly; SameSite=Lax${secure(services) ? '; Secure' : ''}`;
}

/**
 * Login CSRF defence for the sign-in forms (the link or invite token authenticates them, not a
 * cookie): a browser's `Origin`, when sent, must be Keyway's own.
 */
export function requireOwnOrigin(req: FastifyRequest, services: Services): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== new URL(services.config.publicUrl).origin) {
    throw new KeywayError('forbidden', 'This sign-in form was sent from another site; it was refused. Open the link again.');
  }
}

/**
 * Signs a member in: a new session (the browser's previous one ends: rotated at every sign-in),
 * the cookie set, audited, and the browser sent on (303, so a form POST becomes a GET).
 */
export async function completeSignIn(req: FastifyRequest, reply: FastifyReply, services: Services,
  member: MemberRecord, method: SignInMethod, returnTo: string | null): Promise<FastifyReply> {
  const previous = sessionSecretOf(req, services);
  const { record, secret } = await services.sessions.start(member, method, previous);
  services.members.forget(member.id);
  services.audit.record({ orgId: member.orgId, actor: { type: 'member', id: member.id }, action: 'member.sign_in', detail: { method, session: record.id } });
  const maxAge = Math.floor((record.expiresAt - record.createdAt) / 1000);
  return reply.code(303).header('Set-Cookie', cookie(services, sessionCookieName(services.config.publicUrl), secret, maxAge))
    .header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(returnTo ?? '/', 303);
}
