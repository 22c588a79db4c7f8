import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { iso } from '../../core/clock.ts';
import { type Principal, connectionAccess, requireTokenRead } from '../../access/index.ts';
import { toErrorResponse } from '../error-mapping.ts';
import { writeRawError, writeRawNoStoreJson } from '../raw-reply.ts';
import { actorOf, keyPrincipal } from '../auth.ts';
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

/**
 * A fresh access token for a caller: the key may read raw tokens, the caller may see the
 * connection and read its token (its owner), and it holds an OAuth token (never an API key or
 * password). A connection whose checked row and token sit in the token cache is answered without a
 * store read; otherwise the row is read and reviewed first.
 */
export async function readToken(services: Services, principal: Principal, id: string) {
  requireTokenRead(principal);
  const hit = services.tokens.cached(principal.orgId, id);
  const hitAccess = hit ? connectionAccess(principal, hit.connection) : null;
  const { c, access } = hit && hitAccess ? { c: hit.connection, access: hitAccess } : await loadVisible(services, principal, id);
  if (!access.canReadToken) {
    throw new KeywayError('forbidden', 'Only the connection\'s owner reads its raw token; it is shared with you to call through the gateway: /v1/proxy/{connection}/….');
  }
  if (c.kind === 'api_key' || c.kind === 'basic') {
    throw new KeywayError('invalid_request', `This connection holds ${c.kind === 'api_key' ? 'an API key' : 'a user name and password'}, which Keyway never hands out. Call the provider through the gateway: /v1/proxy/${c.id}/…`);
  }
  const t = await services.tokens.getFreshToken(principal.orgId, c.id, actorOf(principal));
  return { accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: t.expiresAt === null ? null : iso(t.expiresAt), scopes: t.scopes };
}

/** The raw listener for `tokenUrlId` requests: no framework work per call, errors as `sendError` writes them. */
export function tokenListener(services: Services): (req: IncomingMessage, res: ServerResponse, id: string) => void {
  return (req, res, id) => {
    keyPrincipal(services, req.headers.authorization)
      .then((principal) => readToken(services, principal, id))
      .then((body) => writeRawNoStoreJson(res, body))
      .catch((e: unknown) => {
        const r = toErrorResponse(e);
        if (r.status >= 500 && r.code !== 'provider_unavailable') services.logger.error({ err: e, path: '/v1/connections/{id}/token' }, 'token read failed');
        writeRawError(res, r);
      });
  };
}

export function tokenRoute({ def, services }: RouteDeps): void {
  def({
    method: 'GET', url: '/v1/connections/{id}/token', tag: 'connections',
    summary: 'A fresh access token (refreshed first by the refresh-ahead rule); never an API key or password', params: z.object({ id: z.string().max(100) }),
    handler: async ({ params, principal, reply }) => {
      reply.header('cache-control', 'no-store');
      return readToken(services, principal, params.id);
    },
  });
}
