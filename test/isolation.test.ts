/**
 * Isolation: every endpoint of the API, as the OpenAPI document lists it (so a new endpoint cannot
 * escape this test), called against another organization's resources and another member's
 * personal ones. Existence is never disclosed: the answer is 404, and no list or answer carries
 * an id of what the caller may not see.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type TestKeyway, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { type Person, connectAs, integrationFor, invitePerson, newOrg } from './helpers/teams.ts';

interface Op {
  method: string;
  path: string;
  params: string[];
}

/** What each path parameter names, and whether it is one member's own (hidden from the others too) or the organization's. */
type Victims = Record<string, { id: string; private: boolean }>;

/** Valid bodies, so a refusal is never just a validation error. An endpoint needing one that is not here fails the test. */
function bodyFor(op: Op, victims: Victims): unknown {
  const int = victims['integration']!.id;
  const bodies: Record<string, unknown> = {
    'PATCH /v1/connections/{id}': { name: 'taken' },
    'PATCH /v1/integrations/{id}': { name: 'taken' },
    'PATCH /v1/members/{id}': { role: 'admin' },
    'POST /v1/connections/{id}/reauthorize': {},
    'POST /v1/connect-sessions': { integration: int },
    'POST /v1/connections': { type: 'api_key', integration: int, apiKey: 'k-123' },
    'POST /v1/integrations': { provider: 'callrail', name: 'mine' },
    'POST /v1/invites': { email: 'new@example.test' },
    'POST /v1/api-keys': { name: 'mine' },
    'POST /v1/webhooks': { url: 'http://127.0.0.1:9/hook' },
    'POST /v1/orgs': { name: 'Mine too' },
    'POST /mcp': { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
  };
  return bodies[`${op.method} ${op.path}`];
}

/** Which victim a path parameter of a path names. */
function victimFor(path: string, param: string, victims: Victims): { id: string; private: boolean } | 'global' {
  if (path.startsWith('/v1/providers/')) return 'global'; // the catalog is the same for everyone
  const resource = param === 'connection' ? 'connection' : param === 'delivery' ? 'delivery' : param === 'path' ? 'path' : path.split('/')[2];
  const key: Record<string, string> = {
    connections: 'connection', connection: 'connection', integrations: 'integration', 'connect-sessions': 'session', 'api-keys': 'apiKey',
    webhooks: 'webhook', delivery: 'delivery', members: 'member', invites: 'invite', orgs: 'org', path: 'path',
  };
  const v = victims[key[resource ?? ''] ?? ''];
  assert.ok(v, `isolation.test.ts does not know what {${param}} of ${path} names: add it, so the endpoint is tested`);
  return v;
}

async function call(t: TestKeyway, key: string, op: Op, url: string, body: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'application/json, text/event-stream' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.kw.url}${url}`, { method: op.method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, text: await res.text() };
}

describe('isolation: nothing of one organization, or of another member, is visible or usable', () => {
  let provider: SandboxServer;
  let t: TestKeyway;
  let ops: Op[];
  let victims: Victims;
  let outsider: Person;
  let colleague: Person;

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    const owner = t.apiKey;
    const integration = await integrationFor(t, provider, owner, 'isolation-client');
    const victim = await invitePerson(t, owner, 'vic@example.test', 'member');
    colleague = await invitePerson(t, owner, 'col@example.test', 'member');
    outsider = await newOrg(t, owner, 'Elsewhere');
    const connection = await connectAs(t, provider, integration, victim.key, 'vic');
    const session = (await t.api('POST', '/v1/connect-sessions', { integration }, victim.key)).body.id;
    const apiKey = (await t.api('GET', '/v1/api-keys', undefined, victim.key)).body.data[0].id;
    const webhook = (await t.api('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook' }, owner)).body.id;
    const invite = (await t.api('POST', '/v1/invites', { email: 'pending@example.test' }, owner)).body.id;
    victims = {
      connection: { id: connection, private: true }, session: { id: session, private: true }, apiKey: { id: apiKey, private: true },
      integration: { id: integration, private: false }, webhook: { id: webhook, private: false }, member: { id: victim.memberId, private: false },
      invite: { id: invite, private: false }, org: { id: t.kw.orgId, private: false },
      delivery: { id: 'whd_none', private: false }, path: { id: 'me', private: false },
    };
    for (const [what, v] of Object.entries(victims)) assert.ok(v.id, `${what} was made`);
    const doc = await (await fetch(`${t.kw.url}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
    ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({
      method: m.toUpperCase(), path, params: [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!),
    })));
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  const urlOf = (op: Op): { url: string; isPrivate: boolean; global: boolean } => {
    let url = op.path;
    let isPrivate = false;
    let global = false;
    for (const p of op.params) {
      const v = victimFor(op.path, p, victims);
      if (v === 'global') { global = true; url = url.replace(`{${p}}`, 'github'); continue; }
      isPrivate ||= v.private;
      url = url.replace(`{${p}}`, v.id);
    }
    return { url, isPrivate, global };
  };

  /** Ids the request did not name itself (an error may repeat what was asked: "No connection conn_…"). */
  const unasked = (list: string[], url: string, op: Op): string[] => {
    const asked = url + JSON.stringify(bodyFor(op, victims) ?? '');
    return list.filter((id) => !asked.includes(id));
  };

  const ids = (): string[] => Object.entries(victims).filter(([k]) => k !== 'path' && k !== 'delivery').map(([, v]) => v.id);

  test('the OpenAPI document lists every kind of endpoint this test knows', () => {
    assert.ok(ops.length >= 40, `only ${ops.length} operations`);
    for (const must of ['GET /v1/connections/{id}', 'PATCH /v1/connections/{id}', 'DELETE /v1/members/{id}', 'GET /v1/proxy/{connection}/{path}', 'GET /v1/orgs/{id}']) {
      assert.ok(ops.some((o) => `${o.method} ${o.path}` === must), must);
    }
  });

  test('from another organization (its owner, a key that may do anything there) every endpoint answers 404 or shows nothing of ours', async () => {
    let checked = 0;
    for (const op of ops) {
      const { url, global } = urlOf(op);
      const res = await call(t, outsider.key, op, url, bodyFor(op, victims));
      const where = `${op.method} ${url}: ${res.status} ${res.text.slice(0, 200)}`;
      if (op.params.length > 0 && !global) {
        assert.equal(res.status, 404, where);
        checked++;
      } else if (op.path === '/v1/connect-sessions' || op.path === '/v1/connections' && op.method === 'POST') {
        assert.equal(res.status, 404, `${where} (it names our integration)`);
      } else {
        assert.ok(res.status < 500, where);
      }
      for (const id of unasked(ids(), url, op)) assert.ok(!res.text.includes(id), `${where} discloses ${id}`);
    }
    assert.ok(checked >= 20, `${checked} endpoints with ids checked`);
  });

  test('from another member of the same organization, a member\'s own connection, connect session and key answer 404 everywhere', async () => {
    const own = [victims['connection']!.id, victims['session']!.id, victims['apiKey']!.id];
    let checked = 0;
    for (const op of ops) {
      const { url, isPrivate } = urlOf(op);
      const res = await call(t, colleague.key, op, url, bodyFor(op, victims));
      const where = `${op.method} ${url}: ${res.status} ${res.text.slice(0, 200)}`;
      if (isPrivate) {
        assert.equal(res.status, 404, where);
        checked++;
      } else {
        assert.ok(res.status < 500, where);
      }
      for (const id of unasked(own, url, op)) assert.ok(!res.text.includes(id), `${where} discloses ${id}`);
    }
    assert.ok(checked >= 10, `${checked} endpoints with a member's own resource checked`);
  });

  test('what the tests above tried changed nothing of ours', async () => {
    const owner = t.apiKey;
    const victimKey = (await t.api('GET', `/v1/api-keys/${victims['apiKey']!.id}`, undefined, owner)).body;
    assert.equal(victimKey.revokedAt, null);
    const conn = await t.kw.services.store.connections.get(t.kw.orgId, victims['connection']!.id);
    assert.deepEqual([conn?.name, conn?.sharing], ["vic's account", 'personal']);
    assert.equal((await t.api('GET', `/v1/integrations/${victims['integration']!.id}`, undefined, owner)).body.name, 'Custom OAuth');
    const member = (await t.api('GET', `/v1/members/${victims['member']!.id}`, undefined, owner)).body;
    assert.deepEqual([member.role, member.removedAt], ['member', null]);
    assert.equal((await t.api('GET', '/v1/webhooks', undefined, owner)).body.data.length, 1);
  });
});
