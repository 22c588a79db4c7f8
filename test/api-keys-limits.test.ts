/**
 * What an API key may do beyond its own calls: the keys it creates, the integrations and
 * administration its limits allow, whose keys it sees, and what the key gate keeps in memory.
 * Regression tests for the access-control review (review-keys #3, #5–#9, #12).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDefinition } from '../src/catalog/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type ApiResponse, type TestKeyway, addIntegration, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { invitePerson, sessionApi } from './helpers/teams.ts';
import { type Upstream, startUpstream } from './helpers/upstream.ts';

/** The error a refused call answered with: status, `Keyway-Error` and the body's code agree. */
function refused(res: ApiResponse, status: number, code: string, message: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('keyway-error'), code);
  assert.equal(res.body.error.code, code);
  assert.match(res.body.error.message, message);
}

describe('API keys: limits on what a key may do', () => {
  let t: TestKeyway;
  let upstream: Upstream;
  let provider: SandboxServer;
  let int1: string;
  let int2: string;
  /** An OAuth integration (the sandbox), where connect sessions give a link. */
  let oauth: string;

  before(async () => {
    upstream = await startUpstream();
    const api = (id: string) => parseDefinition({ id, name: id, grants: [], credential: 'api_key', api: { baseUrls: [upstream.url] } }, 'test');
    t = await startTestKeyway({ extraDefinitions: [api('limits-one'), api('limits-two')] });
    int1 = (await t.api('POST', '/v1/integrations', { provider: 'limits-one' })).body.id;
    int2 = (await t.api('POST', '/v1/integrations', { provider: 'limits-two' })).body.id;
    provider = await startProvider();
    oauth = (await addIntegration(t, provider)).id;
  });
  after(async () => {
    await t.close();
    await upstream.close();
    await provider.close();
  });

  test('made-up keys are refused with 401 and the key gate keeps nothing of them (#6)', async () => {
    const held = t.kw.services.keys.size;
    for (let i = 0; i < 200; i++) {
      const huge = await t.api('GET', '/v1/me', undefined, `kw_${i}_${'x'.repeat(15_000)}`);
      refused(huge, 401, 'unauthorized', /not a Keyway API key.*keyway keys create/);
      const unknown = await t.api('GET', '/v1/me', undefined, `kw_${String(i).padStart(43, 'u')}`);
      refused(unknown, 401, 'unauthorized', /unknown or revoked/);
    }
    assert.equal(t.kw.services.keys.size, held);
    assert.equal((await t.api('GET', '/v1/me')).status, 200, 'a real key still works');
  });

  test('a member removed by another process gets no new key, though this process still trusts their key for a moment (#3)', async () => {
    const x = await invitePerson(t, t.apiKey, 'removed-elsewhere@example.test');
    assert.equal((await t.api('GET', '/v1/me', undefined, x.key)).status, 200, 'this process now trusts the key and its member for 500 ms');
    // What another Keyway process on the same database does; this one is not told.
    assert.notEqual(await t.kw.services.store.members.remove(x.orgId, x.memberId, t.clock.now()), 'missing');
    const created = await t.api('POST', '/v1/api-keys', { name: 'made after removal' }, x.key);
    refused(created, 401, 'unauthorized', /^The member this API key or session belongs to was removed from the organization\.$/);
    const keys = (await t.api('GET', '/v1/api-keys?limit=200')).body.data as Array<{ name: string; member: string; revokedAt: string | null }>;
    assert.ok(!keys.some((k) => k.name === 'made after removal'));
    assert.ok(keys.filter((k) => k.member === x.memberId).every((k) => k.revokedAt !== null), 'every key of theirs is revoked');
  });

  test('a member\'s key list pages through their own keys only, in full pages (#12)', async () => {
    const m = await invitePerson(t, t.apiKey, 'pages@example.test');
    for (let i = 0; i < 4; i++) {
      assert.equal((await t.api('POST', '/v1/api-keys', { name: `mine ${i}` }, m.key)).status, 201);
      assert.equal((await t.api('POST', '/v1/api-keys', { name: `owner's ${i}` })).status, 201);
    }
    const sizes: number[] = [];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.api('GET', `/v1/api-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, m.key);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      sizes.push(res.body.data.length);
      for (const k of res.body.data) {
        assert.equal(k.member, m.memberId);
        seen.push(k.id);
      }
      cursor = res.body.nextCursor;
    } while (cursor !== null && sizes.length < 10);
    assert.deepEqual(sizes, [2, 2, 1], 'five keys of theirs, two a page');
    assert.equal(new Set(seen).size, 5);
  });

  test('an admin may not read, roll or revoke an owner\'s keys (the bootstrap key included); an owner may (#8)', async () => {
    const admin = await invitePerson(t, t.apiKey, 'admin-keys@example.test', 'admin');
    const member = await invitePerson(t, t.apiKey, 'member-keys@example.test');
    const ownerKeys = (await t.api('GET', '/v1/api-keys?limit=200')).body.data as Array<{ id: string; name: string; member: string }>;
    const bootstrap = ownerKeys.find((k) => k.name === 'bootstrap admin');
    assert.ok(bootstrap);
    const listed = (await t.api('GET', '/v1/api-keys?limit=200', undefined, admin.key)).body.data as Array<{ member: string }>;
    assert.ok(!listed.some((k) => k.member === bootstrap.member), 'no owner\'s key in an admin\'s list');
    assert.ok(listed.some((k) => k.member === member.memberId), 'a member\'s keys are');
    for (const [method, path] of [['GET', ''], ['POST', '/roll'], ['DELETE', '']] as const) {
      refused(await t.api(method, `/v1/api-keys/${bootstrap.id}${path}`, method === 'POST' ? {} : undefined, admin.key), 404, 'not_found', new RegExp(`^No API key ${bootstrap.id}\\.$`));
    }
    assert.equal((await t.api('GET', '/v1/me')).status, 200, 'the bootstrap key still works');
    const memberKey = (await t.api('POST', '/v1/api-keys', { name: 'to revoke' }, member.key)).body.id;
    assert.equal((await t.api('DELETE', `/v1/api-keys/${memberKey}`, undefined, admin.key)).status, 204, 'an admin still revokes a member\'s key');
    const adminKey = (await t.api('POST', '/v1/api-keys', { name: 'admin\'s' }, admin.key)).body.id;
    assert.equal((await t.api('DELETE', `/v1/api-keys/${adminKey}`)).status, 204, 'an owner revokes an admin\'s key');
  });

  test('a key that expires, or has a rate limit, creates and rolls only keys that expire no later and allow no more (#7)', async () => {
    const made = await t.api('POST', '/v1/api-keys', { name: 'contractor', scope: { manage: true }, expiresInDays: 1, rateLimitPerMinute: 10 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { key, expiresAt } = made.body as { key: string; expiresAt: string };
    const create = (body: Record<string, unknown>) => t.api('POST', '/v1/api-keys', { name: 'minted', scope: { manage: true }, ...body }, key);
    const later = new RegExp(`^This API key expires at ${expiresAt.replace(/\./g, '\\.')}, so a key it creates must expire no later: send expiresAt at or before`);
    refused(await create({ rateLimitPerMinute: 5 }), 403, 'forbidden', later);
    refused(await create({ rateLimitPerMinute: 5, expiresInDays: 3650 }), 403, 'forbidden', later);
    const more = /^This API key is limited to 10 requests a minute, so a key it creates may not have (no limit|11 requests a minute|6000 requests a minute \(the server's default\)): send rateLimitPerMinute from 1 to 10\.$/;
    refused(await create({ expiresAt, rateLimitPerMinute: 0 }), 403, 'forbidden', more);
    refused(await create({ expiresAt, rateLimitPerMinute: 11 }), 403, 'forbidden', more);
    refused(await create({ expiresAt }), 403, 'forbidden', more);
    const within = await create({ expiresAt, rateLimitPerMinute: 10 });
    assert.equal(within.status, 201, JSON.stringify(within.body));
    assert.equal((await t.api('POST', `/v1/api-keys/${within.body.id}/roll`, {}, key)).status, 201, 'rolled within its limits');
    t.clock.advance(60_000);
    const self = await t.api('POST', `/v1/api-keys/${made.body.id}/roll`, {}, key);
    refused(self, 403, 'forbidden', /^This API key expires at .*; the rolled key would expire at .*, later\. Roll it signed in/);
    assert.equal((await t.api('GET', '/v1/me', undefined, key)).status, 200, 'the refused roll left the key as it was');
    const person = await invitePerson(t, t.apiKey, 'signed-in-keys@example.test');
    const unlimited = await sessionApi(t, person.jar, 'POST', '/v1/api-keys', { name: 'mine', rateLimitPerMinute: 0 }, person.csrf);
    assert.equal(unlimited.status, 201, 'a person signed in is not held to a key\'s limits');
    assert.equal(unlimited.body.expiresAt, null);
  });

  test('a key limited to connections cannot add connections, by API or MCP, to any integration (#9)', async () => {
    const b = await invitePerson(t, t.apiKey, 'connection-limited@example.test');
    const conn = await t.api('POST', '/v1/connections', { integration: int1, type: 'api_key', apiKey: 'provider-key-b' }, b.key);
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    const limited = await t.api('POST', '/v1/api-keys', { name: 'one connection', scope: { connections: [conn.body.id] } }, b.key);
    assert.equal(limited.status, 201, JSON.stringify(limited.body));
    const key = limited.body.key as string;
    const noNew = /^A key limited to connections cannot add new ones; use a key without a connection limit\.$/;
    for (const integration of [int1, int2]) {
      refused(await t.api('POST', '/v1/connections', { integration, type: 'api_key', apiKey: 'another' }, key), 403, 'forbidden', noNew);
    }
    refused(await t.api('POST', '/v1/connect-sessions', { integration: oauth }, key), 403, 'forbidden', noNew);
    const mcp = await fetch(`${t.kw.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'connect', arguments: { integration: oauth } } }),
    });
    const answer = JSON.parse(((await mcp.json()) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text);
    assert.equal(answer.error.code, 'forbidden');
    assert.match(answer.error.message, noNew);
    assert.equal((await t.api('GET', `/v1/connections/${conn.body.id}`, undefined, key)).status, 200, 'its own connection it still sees');
  });

  test('a key limited to an integration reads and manages that integration only, reads its audit entries only, and does no organization-wide administration (#5)', async () => {
    const made = await t.api('POST', '/v1/api-keys', { name: 'one integration', scope: { integrations: [int1], manage: true } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const key = made.body.key as string;
    for (const integration of [int1, int1, int2]) {
      assert.equal((await t.api('POST', '/v1/connections', { integration, type: 'api_key', apiKey: 'audited' })).status, 201);
    }
    const listed = (await t.api('GET', '/v1/integrations', undefined, key)).body.data as Array<{ id: string }>;
    assert.deepEqual(listed.map((i) => i.id), [int1]);
    const noInt2 = new RegExp(`^No integration ${int2}\\.$`);
    refused(await t.api('GET', `/v1/integrations/${int2}`, undefined, key), 404, 'not_found', noInt2);
    refused(await t.api('PATCH', `/v1/integrations/${int2}`, { name: 'taken over' }, key), 404, 'not_found', noInt2);
    refused(await t.api('DELETE', `/v1/integrations/${int2}?force=true`, undefined, key), 404, 'not_found', noInt2);
    assert.equal((await t.api('GET', `/v1/integrations/${int2}`)).body.name, 'limits-two', 'untouched');
    const renamed = await t.api('PATCH', `/v1/integrations/${int1}`, { name: 'one, renamed' }, key);
    assert.equal(renamed.status, 200, 'its own integration it manages');

    const audit = await t.api('GET', '/v1/audit?limit=2', undefined, key);
    assert.equal(audit.status, 200);
    assert.equal(audit.body.data.length, 2, 'a full page');
    assert.notEqual(audit.body.nextCursor, null);
    const all = (await t.api('GET', '/v1/audit?limit=200', undefined, key)).body.data as Array<{ integration: string | null }>;
    assert.ok(all.length >= 3 && all.every((e) => e.integration === int1), JSON.stringify(all.map((e) => e.integration)));
    assert.deepEqual((await t.api('GET', `/v1/audit?integration=${int2}`, undefined, key)).body.data, []);

    const orgWide = (what: string) => new RegExp(`^This API key is limited to some integrations or connections, so it cannot ${what}; use a key without an integration or connection limit\\.$`);
    const member = await invitePerson(t, t.apiKey, 'administered@example.test');
    refused(await t.api('POST', '/v1/integrations', { provider: 'limits-two' }, key), 403, 'forbidden', orgWide('add integrations'));
    for (const [method, path, body] of [['POST', '/v1/webhooks', { url: 'https://hooks.example.test/k' }], ['GET', '/v1/webhooks', undefined]] as const) {
      refused(await t.api(method, path, body, key), 403, 'forbidden', orgWide('manage webhooks \\(they carry every integration\'s events\\)'));
    }
    refused(await t.api('POST', '/v1/invites', { email: 'new-admin@example.test', role: 'admin' }, key), 403, 'forbidden', orgWide('manage invites'));
    refused(await t.api('GET', '/v1/invites', undefined, key), 403, 'forbidden', orgWide('manage invites'));
    refused(await t.api('PATCH', `/v1/members/${member.memberId}`, { role: 'admin' }, key), 403, 'forbidden', orgWide('change members\' roles'));
    refused(await t.api('DELETE', `/v1/members/${member.memberId}`, undefined, key), 403, 'forbidden', orgWide('remove members \\(or leave the organization\\)'));
    refused(await t.api('POST', '/v1/orgs', { name: 'Elsewhere' }, key), 403, 'forbidden', orgWide('create organizations'));
    const keys = (await t.api('GET', '/v1/api-keys?limit=200', undefined, key)).body.data as Array<{ member: string }>;
    assert.ok(keys.length > 0 && keys.every((k) => k.member === made.body.member), 'its member\'s own keys only');
    assert.equal((await t.api('GET', `/v1/members/${member.memberId}`, undefined, key)).status, 200, 'reading members is not administration');
  });

  test('a key limited to connections sees the integrations of its connections, changes none, and reads its connections\' audit entries only (#5)', async () => {
    const conn = await t.api('POST', '/v1/connections', { integration: int2, type: 'api_key', apiKey: 'scoped' });
    const made = await t.api('POST', '/v1/api-keys', { name: 'one connection', scope: { connections: [conn.body.id], manage: true } });
    const key = made.body.key as string;
    assert.deepEqual((await t.api('GET', '/v1/integrations', undefined, key)).body.data.map((i: { id: string }) => i.id), [int2]);
    refused(await t.api('GET', `/v1/integrations/${int1}`, undefined, key), 404, 'not_found', new RegExp(`^No integration ${int1}\\.$`));
    refused(await t.api('PATCH', `/v1/integrations/${int2}`, { name: 'changed' }, key), 403, 'forbidden',
      /^A key limited to connections cannot change integrations \(that acts on all of their connections\); use a key without a connection limit\.$/);
    const entries = (await t.api('GET', '/v1/audit?limit=200', undefined, key)).body.data as Array<{ connection: string | null }>;
    assert.ok(entries.length > 0 && entries.every((e) => e.connection === conn.body.id), JSON.stringify(entries.map((e) => e.connection)));
  });
});
