import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { iso } from '../../core/clock.ts';
import { actorOf, type Principal, connectionAccess, principalWithRole, requireTokenRead, withRole } from '../../access/index.ts';
import type { ConnectionRecord } from '../../store/index.ts';
import type { AccessToken } from '../../tokens/index.ts';
import { answerRawError } from '../raw-reply.ts';
import { cachedGatewayPrincipal, keyPrincipal } from '../auth.ts';
import type { Services } from '../services.ts';
import { loadVisible } from './connection-sharing.ts';
import type { RouteDeps } from './deps.ts';

/** `/v1/connections/{id}/token` with a plain id (what Keyway issues), query string allowed. */
const TOKEN_URL = /^\/v1\/connections\/([A-Za-z0-9_-]{1,100})\/token(?:\?|$)/;

/**
 * GET `/token` with an API key: answered by `tokenListener` ahead of Fastify's router. Anything else
 * on that URL (a session cookie, HEAD, an encoded id) goes through the route below as usual.
 */
export function tokenUrlId(method: string | undefined, url: string | undefined, authorization: string | undefined): string | null {
  if (method !== 'GET' || authorization === undefined || url === undefined) return null;
  return TOKEN_URL.exec(url)?.[1] ?? null;
}

/** What `/token` answers. */
export function presentToken(t: AccessToken) {
  return { accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: t.expiresAt === null ? null : iso(t.expiresAt), scopes: t.scopes };
}

/** The refusals of `/token` once the caller may see the connection: not its owner, or no OAuth token to hand out. */
function requireReadable(c: ConnectionRecord, canReadToken: boolean): void {
  if (!canReadToken) {
    throw new KeywayError('forbidden', 'Only the connection\'s owner reads its raw token; it is shared with you to call through the gateway: /v1/proxy/{connection}/….');
  }
  if (c.kind === 'api_key' || c.kind === 'basic') {
    throw new KeywayError('invalid_request', `This connection holds ${c.kind === 'api_key' ? 'an API key' : 'a user name and password'}, which Keyway never hands out. Call the provider through the gateway: /v1/proxy/${c.id}/…`);
  }
}

/**
 * A fresh access token for a caller: the key may read raw tokens, the caller may see the
 * connection and read its token (its owner), and it holds an OAuth token (never an API key or
 * password). From memory when `readCachedToken` can answer, else after reading the row.
 */
export async function readToken(services: Services, principal: Principal, id: string): Promise<AccessToken> {
  return readCachedToken(services, principal, id) ?? readStoredToken(services, principal, id);
}

/** `readToken` reading and reviewing the row first (refreshing the token when the rule says so). */
async function readStoredToken(services: Services, principal: Principal, id: string): Promise<AccessToken> {
  const { c, access } = await loadVisible(services, principal, id);
  requireReadable(c, access.canReadToken);
  return services.tokens.getFreshToken(principal.orgId, c.id, actorOf(principal));
}

/**
 * `readToken` with no store read and no waiting, when the token cache holds a checked row whose
 * token needs no refresh and the caller may see it; undefined otherwise. Audited like any read.
 */
function readCachedToken(services: Services, principal: Principal, id: string): AccessToken | undefined {
  requireTokenRead(principal);
  const hit = services.tokens.cached(principal.orgId, id);
  const access = hit ? connectionAccess(principal, hit.connection) : null;
  if (!hit || !access) return undefined; // not cached, or not visible: the full path answers (404 without disclosing it)
  requireReadable(hit.connection, access.canReadToken);
  services.tokens.auditRead(hit, actorOf(principal));
  return hit.token;
}

/**
 * The raw listener for `tokenUrlId` requests: no framework work per call. When the key, its member
 * and the token are all in memory the answer is written at once, without a promise; otherwise the
 * same checks run with store reads. Errors as `sendError` writes them; answers never cached.
 */
export function tokenListener(services: Services): (req: IncomingMessage, res: ServerResponse, id: string) => void {
  // The JSON of each token handed out, made once per token version (the cache keeps the token object).
  const bodies = new WeakMap<AccessToken, string>();
  // Told of every read at debug level (this listener runs ahead of Fastify's request log): the
  // connection asked for and the status, never the token or the key.
  // (A function either way, as in the gateway's listener: no optional call to trip over.)
  const told = services.logger.isLevelEnabled('debug')
    ? (id: string, status: number, code?: string): void => services.logger.debug({ connection: id, status, ...(code ? { code } : {}) }, 'token read')
    : (_id: string, _status: number, _code?: string): void => undefined;
  const send = (res: ServerResponse, id: string, t: AccessToken): void => {
    let json = bodies.get(t);
    if (json === undefined) {
      json = JSON.stringify(presentToken(t));
      bodies.set(t, json);
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(json) });
    res.end(json);
    told(id, 200);
  };
  const fail = (res: ServerResponse, id: string, e: unknown): void => {
    const sent = answerRawError(res, e, services.logger, 'token read failed', '/v1/connections/{id}/token');
    told(id, sent.status, sent.code);
  };
  return (req, res, id) => {
    let answer: Promise<AccessToken>;
    try {
      const key = cachedGatewayPrincipal(services, req.headers.authorization);
      const member = key === undefined ? undefined : services.members.cached(key.orgId, key.memberId);
      if (key === undefined) {
        answer = keyPrincipal(services, req.headers.authorization).then((p) => readToken(services, p, id));
      } else if (member === undefined) {
        answer = withRole(services.members, key).then((p) => readToken(services, p, id));
      } else {
        const principal = principalWithRole(key, member);
        const t = readCachedToken(services, principal, id);
        if (t !== undefined) return send(res, id, t);
        answer = readStoredToken(services, principal, id);
      }
    } catch (e) {
      return fail(res, id, e);
    }
    // `send` failing too (a value it cannot write) is answered as an error, never left unhandled.
    answer.then((t) => send(res, id, t)).catch((e: unknown) => fail(res, id, e));
  };
}

export function tokenRoute({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/connections/{id}/token', tag: 'connections',
    summary: 'A fresh access token (refreshed first by the refresh-ahead rule); never an API key or password', params: z.object({ id: z.string().max(100) }),
    handler: async ({ params, principal, reply }) => {
      reply.header('cache-control', 'no-store');
      return presentToken(await readToken(services, principal, params.id));
    },
  });
}
