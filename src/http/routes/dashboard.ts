import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ASSET_PATH, AUDIT_FILTERS, type ApiGet, auditTime, type AuditFilters, DASHBOARD_CSP, type Html, type Json, type Viewer, addIntegrationPage, auditPage,
  connectionItem, html, integrationsPage, isAdminRole, notForMembersPage, type KeyRowContext, keyRow, keysPage, layout, membersPage, loadAssets, ok, signInPage,
} from '../../web/index.ts';
import { sessionSecretOf } from '../auth.ts';
import type { Services } from '../services.ts';

type Nav = 'integrations' | 'add' | 'keys' | 'members' | 'audit' | null;
type Query = Record<string, string | undefined>;

/**
 * The web dashboard: server-rendered pages at `/`, `/integrations`, `/integrations/new`, `/keys`,
 * `/members`, `/audit`, one client script and one stylesheet under /assets/. Pages read Keyway's JSON API
 * in-process with the person's cookie (the same access rules); the script changes things through
 * the same API with the session's CSRF token. No token ever reaches the browser.
 */
export function dashboardRoutes(services: Services, app: FastifyInstance): void {
  const publicOrigin = new URL(services.config.publicUrl).origin;
  const assets = loadAssets();

  app.get<{ Params: { name: string } }>(`${ASSET_PATH}:name`, async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return reply.code(404).type('text/plain').send('Not found');
    return reply.header('Cache-Control', 'no-cache').header('X-Content-Type-Options', 'nosniff').type(a.type).send(a.body);
  });

  const viewerOf = async (req: FastifyRequest): Promise<Viewer | null> => {
    const secret = sessionSecretOf(req, services);
    const session = secret === undefined ? null : await services.sessions.resolve(secret);
    const member = session ? await services.members.current(session.orgId, session.memberId) : null;
    const org = member ? await services.store.orgs.get(member.orgId) : null;
    if (!secret || !member || !org) return null;
    return { memberId: member.id, name: member.name, email: member.email, role: member.role, orgName: org.name, csrf: services.sessions.csrfToken(secret) };
  };

  const apiFor = (req: FastifyRequest): ApiGet => async (path) => {
    const res = await app.inject({ method: 'GET', url: path, headers: { cookie: req.headers.cookie ?? '' } });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
  };

  const send = (reply: FastifyReply, status: number, title: string, nav: Nav, viewer: Viewer | null, body: Html): FastifyReply =>
    reply.code(status).header('Content-Security-Policy', DASHBOARD_CSP).header('Cache-Control', 'no-store')
      .header('Referrer-Policy', 'same-origin').header('X-Content-Type-Options', 'nosniff').type('text/html; charset=utf-8')
      .send(layout({ title, nav, viewer, publicOrigin, body }));

  /** What went wrong, as the API said it, and (where there is one) the way on from here. */
  const problem = (message: string, next?: { href: string; text: string }): Html =>
    html`<p class="err" role="alert">${message}</p>${next ? html`<p><a href="${next.href}">${next.text}</a></p>` : ''}`;
  /** A page link (with a cursor) that no longer works — old, or edited by hand — has a way back to the first page. */
  const firstPage = (href: string, cursor: string | undefined): { href: string; text: string } | undefined =>
    cursor ? { href, text: 'Go to the first page' } : undefined;

  /** A signed-in page; anyone else gets the sign-in page (200: it is the page they asked for, signed out). */
  const page = (url: string, title: string, nav: Nav, render: (api: ApiGet, q: Query, viewer: Viewer) => Promise<Html>): void => {
    app.get<{ Querystring: Query }>(url, async (req, reply) => {
      const viewer = await viewerOf(req);
      if (!viewer) {
        const left = req.query.left !== undefined; // just left the organization (the Leave button lands here)
        return send(reply, 200, 'Sign in', null, null, signInPage(services.signIn !== null, left ? '/' : req.url, left));
      }
      return send(reply, 200, title, nav, viewer, await render(apiFor(req), req.query, viewer));
    });
  };

  const integrations = async (api: ApiGet, q: Query, viewer: Viewer): Promise<Html> => {
    const ints = ok(await api('/v1/integrations'));
    const cursor = typeof q.cursor === 'string' ? q.cursor : undefined;
    const conns = ok(await api(`/v1/connections?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
    if (ints.error !== null) return problem(ints.error);
    if (conns.error !== null) return problem(conns.error, firstPage('/integrations', cursor));
    return integrationsPage(ints.data.data, conns.data.data, conns.data.nextCursor, cursor, isAdminRole(viewer.role));
  };
  page('/', 'Integrations', 'integrations', integrations);
  page('/integrations', 'Integrations', 'integrations', integrations);

  page('/integrations/new', 'Add integration', 'add', async (api, q, viewer) => {
    if (!isAdminRole(viewer.role)) return notForMembersPage('Add integration', 'add integrations');
    const all = ok(await api('/v1/providers'));
    if (all.error !== null) return problem(all.error);
    const categories = [...new Set<string>(all.data.data.flatMap((p: { categories: string[] }) => p.categories))].sort();
    let chosen = null;
    if (q.provider) {
      const one = ok(await api(`/v1/providers/${encodeURIComponent(q.provider)}`));
      if (one.error !== null) return problem(one.error, { href: '/integrations/new', text: 'See all providers' });
      chosen = one.data;
    }
    const search = q.search || undefined;
    const category = q.category || undefined;
    const filtered = search || category ? ok(await api(`/v1/providers?${new URLSearchParams({ ...(search ? { search } : {}), ...(category ? { category } : {}) })}`)) : all;
    if (filtered.error !== null) return problem(filtered.error);
    return addIntegrationPage({ providers: filtered.data.data, categories, search, category, chosen, publicUrl: services.config.publicUrl });
  });

  /**
   * What key rows are drawn with: the integrations (a key's scope names them) and, for owners and
   * admins, who see every member's keys, the members (each row says whose key it is).
   */
  const keyRowContext = async (api: ApiGet, viewer: Viewer): Promise<{ integrations: Json[]; context: KeyRowContext } | { error: string }> => {
    const ints = ok(await api('/v1/integrations'));
    if (ints.error !== null) return { error: ints.error };
    let ownerNames: Map<string, string> | null = null;
    if (isAdminRole(viewer.role)) {
      const members = ok(await api('/v1/members'));
      if (members.error !== null) return { error: members.error };
      ownerNames = new Map(members.data.data.map((m: { id: string; name: string }) => [m.id, m.name]));
    }
    const integrationNames = new Map<string, string>(ints.data.data.map((i: { id: string; name: string }) => [i.id, i.name]));
    return { integrations: ints.data.data, context: { now: services.clock.now(), integrationNames, ownerNames, viewerMemberId: viewer.memberId } };
  };

  page('/keys', 'API keys', 'keys', async (api, q, viewer) => {
    const keys = ok(await api(`/v1/api-keys?limit=50${q.cursor ? `&cursor=${encodeURIComponent(q.cursor)}` : ''}`));
    if (keys.error !== null) return problem(keys.error, firstPage('/keys', q.cursor));
    const rows = await keyRowContext(api, viewer);
    if ('error' in rows) return problem(rows.error);
    return keysPage({ keys: keys.data.data, nextCursor: keys.data.nextCursor, integrations: rows.integrations, ...rows.context });
  });

  page('/members', 'Members', 'members', async (api, _q, viewer) => {
    const members = ok(await api('/v1/members'));
    if (members.error !== null) return problem(members.error);
    const admin = isAdminRole(viewer.role);
    const invites = admin ? ok(await api('/v1/invites')) : null;
    if (invites && invites.error !== null) return html`${problem(invites.error)}${membersPage(viewer, members.data.data, null)}`;
    return membersPage(viewer, members.data.data, invites ? invites.data.data : null);
  });

  page('/audit', 'Audit log', 'audit', async (api, q, viewer) => {
    if (!isAdminRole(viewer.role)) return notForMembersPage('Audit log', 'read the audit log');
    const filters: AuditFilters = {};
    for (const f of AUDIT_FILTERS) if (q[f]) filters[f] = q[f];
    const asked = { ...filters, ...(filters.since ? { since: auditTime(filters.since) } : {}), ...(filters.until ? { until: auditTime(filters.until) } : {}) };
    const params = new URLSearchParams({ ...asked, limit: '50', ...(q.cursor ? { cursor: q.cursor } : {}) });
    const entries = ok(await api(`/v1/audit?${params}`));
    return entries.error !== null ? html`${problem(entries.error)}${auditPage([], null, filters)}` : auditPage(entries.data.data, entries.data.nextCursor, filters);
  });

  /** One API key's row, for the script to put in place once the key is made (same template as the page). */
  app.get<{ Params: { id: string } }>('/fragments/keys/:id', async (req, reply) => {
    const viewer = await viewerOf(req);
    if (!viewer) return reply.code(401).type('text/plain').send('Sign in again.');
    const api = apiFor(req);
    const k = ok(await api(`/v1/api-keys/${encodeURIComponent(req.params.id)}`));
    if (k.error !== null) return reply.code(404).type('text/plain').send(k.error);
    const rows = await keyRowContext(api, viewer);
    if ('error' in rows) return reply.code(502).type('text/plain').send(rows.error);
    return reply.header('Cache-Control', 'no-store').header('Content-Security-Policy', DASHBOARD_CSP).type('text/html; charset=utf-8').send(keyRow(k.data, rows.context).value);
  });

  /** One connection's list item, for the script to put in place after a change (same template as the page). */
  app.get<{ Params: { id: string } }>('/fragments/connections/:id', async (req, reply) => {
    if (!(await viewerOf(req))) return reply.code(401).type('text/plain').send('Sign in again.');
    const c = ok(await apiFor(req)(`/v1/connections/${encodeURIComponent(req.params.id)}`));
    if (c.error !== null) return reply.code(404).type('text/plain').send(c.error);
    return reply.header('Cache-Control', 'no-store').header('Content-Security-Policy', DASHBOARD_CSP).type('text/html; charset=utf-8').send(connectionItem(c.data).value);
  });
}
