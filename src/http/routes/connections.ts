import { z } from 'zod';
import { KeywayError } from '../../core/errors.ts';
import { actorOf, type Principal, canUseIntegration, connectionAccess, requireConnectionManage, requireMayAddConnections } from '../../access/index.ts';
import { type NewConnectionInput, OAUTH21_REFUSAL, REFUSED_GRANTS } from '../../connect/index.ts';
import type { ConnectionRecord } from '../../store/index.ts';
import { presentConnection, presentStartedSession } from '../present.ts';
import { loadVisible, ownerOf, presentVisible } from './connection-sharing.ts';
import { pageQuery } from '../route.ts';
import { noIntegration } from '../../integrations/index.ts';
import type { RouteDeps } from './deps.ts';

const idParam = z.object({ id: z.string().max(100) });
const scopes = z.array(z.string().min(1).max(500)).max(200);
const metadata = z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= 4096, 'metadata must be at most 4 KB of JSON');
const common = {
  integration: z.string().min(1).max(100),
  name: z.string().min(1).max(200).optional(),
  externalId: z.string().min(1).max(200).optional(),
  metadata: metadata.optional(),
  params: z.record(z.string(), z.string().max(500)).optional(),
};

/** A credential Keyway sends in an HTTP header: tabs, visible ASCII and Latin-1 only (RFC 9110 §5.5). */
const headerSafe = (field: string) => z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/,
  `${field} holds a line break, a control character or a character outside Latin-1, which cannot be sent in an HTTP header; paste it exactly as the provider issued it`);

/** `POST /v1/connections`: a connection without a browser. Implicit and password are refused, saying why. */
const newConnectionBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('client_credentials'), ...common, scopes: scopes.optional() }),
  z.strictObject({ type: z.literal('api_key'), ...common, apiKey: headerSafe('the API key').min(1).max(8000) }),
  z.strictObject({ type: z.literal('basic'), ...common, username: z.string().min(1).max(500), password: z.string().min(1).max(8000) }),
  z.strictObject({
    type: z.literal('oauth2'), ...common, scopes: scopes.optional(),
    accessToken: headerSafe('the access token').min(1).max(16_000).optional(), refreshToken: z.string().min(1).max(16_000),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  }),
  z.looseObject({ type: z.enum(REFUSED_GRANTS) }).superRefine((_v, ctx) => { ctx.addIssue({ code: 'custom', path: ['type'], message: OAUTH21_REFUSAL }); }),
], { error: (iss) => iss.code === 'invalid_union' ? 'must be "client_credentials", "api_key", "basic" or "oauth2" (tokens issued elsewhere, to import; for a person\'s OAuth consent, use POST /v1/connect-sessions)' : undefined });

export function connectionRoutes({ def, services }: RouteDeps): void {
  const { store, tokens } = services;

  /** Existence is not disclosed to a caller who may not use the connection (see loadVisible). */
  const load = async (p: Principal, id: string): Promise<ConnectionRecord> => (await loadVisible(services, p, id)).c;

  def({
    method: 'POST', url: '/v1/connections', tag: 'connections', status: 201,
    summary: 'Create a connection without a browser: client credentials (token fetched at once), an API key, or Basic user name and password',
    body: newConnectionBody,
    handler: async ({ body: raw, principal }) => {
      if (raw.type === 'implicit' || raw.type === 'password') throw new KeywayError('invalid_request', OAUTH21_REFUSAL);
      const body = raw as NewConnectionInput; // the refused member never validates
      requireMayAddConnections(principal);
      if (!canUseIntegration(principal, body.integration)) throw noIntegration(body.integration);
      const c = await services.connections.create(principal.orgId, actorOf(principal), principal.memberId, body);
      const access = connectionAccess(principal, c);
      return access ? presentVisible({ c, access }, await ownerOf(services, c)) : presentConnection(c);
    },
  });
  def({
    method: 'GET', url: '/v1/connections', tag: 'connections',
    summary: 'List the connections the caller may use (never a token), each with "access": via owner, admin, shared:use or shared:manage, and what that allows',
    query: z.strictObject({
      integration: z.string().max(100).optional(),
      status: z.enum(['active', 'refresh_failing', 'needs_reauth']).optional(),
      externalId: z.string().max(200).optional(),
      ...pageQuery,
    }),
    handler: async ({ query, principal }) => {
      // A status filter must see transitions that are due but not yet written.
      if (query.status) await tokens.sweepNeedsReauth();
      const page = await store.connections.list(principal.orgId,
        { integrationId: query.integration, status: query.status, externalId: query.externalId },
        { limit: query.limit, cursor: query.cursor });
      const visible = await Promise.all(page.data.flatMap((c) => {
        const access = connectionAccess(principal, c);
        return access ? [tokens.reviewStatus(c).then((r) => ({ c: r, access }))] : [];
      }));
      const scopesOf = new Map((await services.integrations.list(principal.orgId)).map((i) => [i.id, i.scopes]));
      const members = new Map((await store.members.listAll(principal.orgId)).map((m) => [m.id, m]));
      return {
        data: visible.map((v) => presentVisible(v, members.get(v.c.ownerMemberId ?? '') ?? null, scopesOf.get(v.c.integrationId))),
        nextCursor: page.nextCursor,
      };
    },
  });
  def({
    method: 'GET', url: '/v1/connections/{id}', tag: 'connections', summary: 'One connection (never a token)', params: idParam,
    handler: async ({ params, principal }) => {
      const v = await loadVisible(services, principal, params.id);
      return presentVisible(v, await ownerOf(services, v.c), (await services.integrations.get(principal.orgId, v.c.integrationId)).scopes);
    },
  });
  def({
    method: 'DELETE', url: '/v1/connections/{id}', tag: 'connections',
    summary: 'Disconnect: the tokens are deleted at once, then revoked at the provider where it has an endpoint (RFC 7009); a Keyway-Hint header says what is left to do',
    params: idParam,
    handler: async ({ params, principal, reply }) => {
      const { c, access } = await loadVisible(services, principal, params.id);
      requireConnectionManage(access);
      const out = await services.connections.disconnect(c, actorOf(principal));
      if (out.advice) reply.header('Keyway-Hint', out.advice.replace(/[^\x20-\x7e]/g, '?')); // a header value is printable ASCII
      return undefined;
    },
  });
  def({
    method: 'POST', url: '/v1/connections/{id}/reauthorize', tag: 'connections', status: 201,
    summary: 'Re-authenticate: a connect session that replaces this connection\'s tokens and scopes and keeps everything else. By its owner: the same account only. By anyone else who may manage it: a transfer — their account\'s tokens replace the old ones (revoked) and they become the owner',
    params: idParam,
    body: z.strictObject({ grant: z.enum(['authorization_code', 'device_code']).optional(), scopes: scopes.optional() }),
    handler: async ({ params, body, principal }) => {
      const { c, access } = await loadVisible(services, principal, params.id);
      requireConnectionManage(access);
      const started = await services.connect.createReauthSession(principal.orgId, actorOf(principal), principal.memberId, c.id, body);
      return { ...presentStartedSession(started.session, started.connectUrl), transfersOwnership: c.ownerMemberId !== principal.memberId };
    },
  });
  def({
    method: 'POST', url: '/v1/connections/{id}/refresh', tag: 'connections', summary: 'Refresh the token now (client credentials: fetch a new one)', params: idParam,
    handler: async ({ params, principal }) => {
      const c = await load(principal, params.id);
      return presentConnection(await tokens.forceRefresh(principal.orgId, c.id, actorOf(principal)));
    },
  });
}
