import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { KeywayError } from '../core/errors.ts';
import { type Principal, sessionPrincipal, withRole } from '../access/index.ts';
import { parseCookies } from './pages/html.ts';
import type { Services } from './services.ts';

/** The session cookie: `__Host-` prefixed (Secure, Path=/, no Domain) when Keyway is served over https. */
export function sessionCookieName(publicUrl: string): string {
  return new URL(publicUrl).protocol === 'https:' ? '__Host-keyway_session' : 'keyway_session';
}

/** The header a signed-in page sends its CSRF token in, on every request that changes something. */
export const CSRF_HEADER = 'x-keyway-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * CSRF defence for cookie-authenticated requests that change state: the session's token in
 * `X-Keyway-CSRF` (a cross-site form or script cannot set the header or know the token), and an
 * `Origin`, when the browser sends one, that is Keyway's own.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
 */
export function checkCsrf(req: FastifyRequest, expected: string, publicOrigin: string, formToken?: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== publicOrigin) {
    throw new KeywayError('forbidden', 'This request came from another site (its Origin is not Keyway\'s); it was refused.');
  }
  const header = req.headers[CSRF_HEADER];
  const sent = typeof header === 'string' ? header : formToken;
  if (sent === undefined || !sameSecret(sent, expected)) {
    throw new KeywayError('forbidden', 'A signed-in request that changes something must carry the session\'s CSRF token in the X-Keyway-CSRF header (GET /v1/me gives it).');
  }
}

/** The session secret a request's cookie carries, if any. */
export function sessionSecretOf(req: FastifyRequest, services: Services): string | undefined {
  const value = parseCookies(req.headers.cookie)[sessionCookieName(services.config.publicUrl)];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Every API call: a Bearer API key (cached; a revocation is seen within a second, then its rate
 * limit), or else a signed-in person's session cookie, with a CSRF token for changes. Either way
 * the principal carries the member's current role; a removed member's keys and sessions are refused.
 */
export function requestAuthenticator(services: Services): (req: FastifyRequest) => Promise<Principal> {
  const publicOrigin = new URL(services.config.publicUrl).origin;
  // How a person signs in here: single sign-on when it is set up, otherwise a one-time link from the CLI.
  const signIn = services.config.oidc !== null ? 'sign in at /auth/login' : 'sign in with a link from `npx keyway login-link`';
  return async (req) => {
    if (req.headers.authorization !== undefined) return keyPrincipal(services, req.headers.authorization);
    const secret = sessionSecretOf(req, services);
    if (secret === undefined) {
      throw new KeywayError('unauthorized', `Send an API key as "Authorization: Bearer kw_…" (create one with \`npx keyway keys create --name NAME\`), or ${signIn}.`);
    }
    const session = await services.sessions.resolve(secret);
    const member = session ? await services.members.current(session.orgId, session.memberId) : null;
    if (!session || !member) throw new KeywayError('unauthorized', `Your session has ended (signed out, expired or removed). To go on, ${signIn}.`);
    if (!SAFE_METHODS.has(req.method)) checkCsrf(req, services.sessions.csrfToken(secret), publicOrigin);
    return sessionPrincipal(session, member);
  };
}

/** An API key's principal with its member's role (the gateway uses the key alone; see `gatewayPrincipal`). */
export async function keyPrincipal(services: Services, authorization: string | undefined): Promise<Principal> {
  const p = await services.keys.authenticate(authorization);
  services.keyOwners.remember(p.keyId, p.memberId);
  return withRole(services.members, p);
}

/**
 * The gateway's check on its hot path: the key (cached, rate-limited unless `counted` is false, for
 * an MCP tool's call already counted at /mcp); sharing decides use without the role.
 */
export async function gatewayPrincipal(services: Services, authorization: string | undefined, counted = true): Promise<Principal> {
  const p = await services.keys.authenticate(authorization, { counted });
  services.keyOwners.remember(p.keyId, p.memberId);
  return p;
}

/** `gatewayPrincipal` from memory (a key checked within the last 500 ms, rate limit applied); undefined when the store must be asked. */
export function cachedGatewayPrincipal(services: Services, authorization: string | undefined, counted = true): Principal | undefined {
  const p = services.keys.cached(authorization, { counted });
  if (p !== undefined) services.keyOwners.remember(p.keyId, p.memberId);
  return p;
}

/** The header an MCP tool's call through the gateway carries, with this process's `mcpCallToken`. */
export const MCP_CALL_HEADER = 'keyway-mcp-call';

/**
 * True for an MCP tool's own call through the gateway (the header carries this process's secret):
 * the /mcp request it came from was counted against the key's rate limit, so this one is not.
 * The key itself is still checked; a wrong or missing secret is simply an ordinary, counted call.
 */
export function isMcpToolCall(services: Services, header: string | string[] | undefined): boolean {
  return typeof header === 'string' && sameSecret(header, services.mcpCallToken);
}

