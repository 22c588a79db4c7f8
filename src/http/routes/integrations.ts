import { z } from 'zod';
import { type Principal, actorOf, integrationsWithin, requireIntegrationManage, requireOrgAdmin } from '../../access/index.ts';
import { presentIntegration } from '../present.ts';
import { noIntegration } from '../../integrations/index.ts';
import type { RouteDeps } from './deps.ts';

const integrationBody = z.strictObject({
  provider: z.string().min(1).max(100),
  name: z.string().min(1).max(200).optional(),
  clientId: z.string().min(1).max(500).optional(),
  clientSecret: z.string().min(1).max(4000).optional(),
  privateKey: z.string().min(1).max(16_000).optional(),
  privateKeyId: z.string().min(1).max(200).optional(),
  scopes: z.array(z.string().min(1).max(500)).max(200).optional(),
  authorizationUrl: z.string().max(2000).optional(),
  tokenUrl: z.string().max(2000).optional(),
  revocationUrl: z.string().max(2000).optional(),
  apiBaseUrl: z.string().max(2000).optional(),
  issuer: z.string().max(2000).optional(),
  /** Push authorization requests to the provider's PAR endpoint (RFC 9126); unset: only when its metadata requires it. */
  pushedAuthorization: z.boolean().optional(),
});

const idParam = z.object({ id: z.string().max(100) });

export function integrationRoutes({ def, services }: RouteDeps): void {
  const { integrations } = services;
  const show = (r: Parameters<typeof presentIntegration>[0]) => presentIntegration(r, integrations.redirectUri(r.id), integrations.resolved(r));
  /** An integration a limited key may see; others are not found, as connections are. */
  const visible = async (p: Principal, id: string) => {
    const within = await integrationsWithin(services.store, p);
    if (within !== null && !within.has(id)) throw noIntegration(id);
    return integrations.get(p.orgId, id);
  };
  def({
    method: 'POST', url: '/v1/integrations', tag: 'integrations', status: 201,
    summary: 'Add an integration: a provider plus your own OAuth app (or a custom provider by URLs or issuer)',
    body: integrationBody,
    handler: async ({ body, principal }) => {
      requireOrgAdmin(principal, 'add integrations');
      return show(await integrations.create(principal.orgId, actorOf(principal), body));
    },
  });
  def({
    method: 'GET', url: '/v1/integrations', tag: 'integrations', summary: 'List integrations with their redirect URIs',
    handler: async ({ principal }) => {
      const within = await integrationsWithin(services.store, principal);
      const all = await integrations.list(principal.orgId);
      return { data: (within === null ? all : all.filter((i) => within.has(i.id))).map(show), nextCursor: null };
    },
  });
  def({
    method: 'GET', url: '/v1/integrations/{id}', tag: 'integrations', summary: 'One integration', params: idParam,
    handler: async ({ params, principal }) => show(await visible(principal, params.id)),
  });
  def({
    method: 'PATCH', url: '/v1/integrations/{id}', tag: 'integrations', params: idParam,
    summary: 'Rename, change scopes, or rotate the client secret (used at once; no connection needs reconnecting)',
    body: z.strictObject({
      name: z.string().min(1).max(200).optional(),
      scopes: z.array(z.string().min(1).max(500)).max(200).optional(),
      clientId: z.string().min(1).max(500).optional(),
      clientSecret: z.string().min(1).max(4000).optional(),
    }),
    handler: async ({ params, body, principal }) => {
      requireIntegrationManage(principal);
      await visible(principal, params.id);
      return show(await integrations.update(principal.orgId, actorOf(principal), params.id, body));
    },
  });
  def({
    method: 'DELETE', url: '/v1/integrations/{id}', tag: 'integrations', params: idParam,
    summary: 'Delete an integration; refused while it has connections unless ?force=true, which disconnects each (revoked at the provider)',
    query: z.strictObject({ force: z.enum(['true', 'false']).optional() }),
    handler: async ({ params, query, principal }) => {
      requireIntegrationManage(principal);
      const actor = actorOf(principal);
      await visible(principal, params.id);
      if (query.force === 'true') await services.connections.disconnectAll(principal.orgId, params.id, actor);
      await integrations.delete(principal.orgId, actor, params.id);
      return undefined;
    },
  });
}
