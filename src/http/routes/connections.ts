import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { iso } from '../../core/clock.ts';
import { type Principal, canUseConnection, requireManage, requireTokenRead } from '../../access/index.ts';
import type { ConnectionRecord } from '../../store/index.ts';
import { presentConnection } from '../present.ts';
import { actorOf } from '../auth.ts';
import { pageQuery } from '../route.ts';
import type { RouteDeps } from './deps.ts';

const idParam = z.object({ id: z.string().max(100) });

export function connectionRoutes({ def, services }: RouteDeps): void {
  const { store, tokens, audit } = services;

  /** Existence is not disclosed to a key that may not use the connection. */
  const load = async (p: Principal, id: string): Promise<ConnectionRecord> => {
    const c = await store.connections.get(p.orgId, id);
    if (!c || !canUseConnection(p, c)) throw new KeywayError('not_found', `No connection ${id}.`);
    return c;
  };

  def({
    method: 'GET', url: '/v1/connections', tag: 'connections', summary: 'List connections (never a token)',
    query: z.strictObject({
      integration: z.string().max(100).optional(),
      status: z.enum(['active', 'refresh_failing', 'needs_reauth']).optional(),
      externalId: z.string().max(200).optional(),
      ...pageQuery,
    }),
    handler: async ({ query, principal }) => {
      const page = await store.connections.list(principal.orgId,
        { integrationId: query.integration, status: query.status, externalId: query.externalId },
        { limit: query.limit, cursor: query.cursor });
      return { data: page.data.filter((c) => canUseConnection(principal, c)).map(presentConnection), nextCursor: page.nextCursor };
    },
  });
  def({
    method: 'GET', url: '/v1/connections/{id}', tag: 'connections', summary: 'One connection (never a token)', params: idParam,
    handler: async ({ params, principal }) => presentConnection(await load(principal, params.id)),
  });
  def({
    method: 'DELETE', url: '/v1/connections/{id}', tag: 'connections', summary: 'Disconnect: the tokens are deleted at once', params: idParam,
    handler: async ({ params, principal }) => {
      requireManage(principal);
      const c = await load(principal, params.id);
      await store.connections.delete(principal.orgId, c.id);
      audit.record({ orgId: c.orgId, actor: actorOf(principal), action: 'connection.delete', integrationId: c.integrationId, connectionId: c.id });
      return undefined;
    },
  });
  def({
    method: 'GET', url: '/v1/connections/{id}/token', tag: 'connections',
    summary: 'A fresh access token (refreshed first by the refresh-ahead rule)', params: idParam,
    handler: async ({ params, principal }) => {
      requireTokenRead(principal);
      const c = await load(principal, params.id);
      const t = await tokens.getFreshToken(principal.orgId, c.id, actorOf(principal));
      return { accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: t.expiresAt === null ? null : iso(t.expiresAt), scopes: t.scopes };
    },
  });
  def({
    method: 'POST', url: '/v1/connections/{id}/refresh', tag: 'connections', summary: 'Refresh the token now', params: idParam,
    handler: async ({ params, principal }) => {
      const c = await load(principal, params.id);
      return presentConnection(await tokens.forceRefresh(principal.orgId, c.id, actorOf(principal)));
    },
  });
}
