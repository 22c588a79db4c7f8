import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type TestKeyway, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type Person, auditOf, connectAs, integrationFor, invitePerson, proxyCall } from './helpers/teams.ts';

describe('sharing connections without sharing passwords', () => {
  let provider: SandboxServer;
  let t: TestKeyway;
  let integration: string;
  let admin: Person;
  let mia: Person;
  let max: Person;

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = await integrationFor(t, provider, t.apiKey, 'sharing-client');
    admin = await invitePerson(t, t.apiKey, 'adam@example.test', 'admin');
    mia = await invitePerson(t, t.apiKey, 'mia@example.test', 'member');
    max = await invitePerson(t, t.apiKey, 'max@example.test', 'member');
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  const get = (key: string, id: string) => t.api('GET', `/v1/connections/${id}`, undefined, key);
  const listed = async (key: string) => (await t.api('GET', '/v1/connections', undefined, key)).body.data.map((c: { id: string }) => c.id);
  const share = (key: string, id: string, body: Record<string, unknown>) => t.api('PATCH', `/v1/connections/${id}`, body, key);

  test('a new connection is personal: only its owner and the owner\'s keys see or use it — admins included', async () => {
    const id = await connectAs(t, provider, integration, mia.key, 'mia');
    const mine = await get(mia.key, id);
    assert.deepEqual([mine.body.sharing, mine.body.shareLevel, mine.body.owner.id], ['personal', null, mia.memberId]);
    assert.deepEqual(mine.body.access, { via: 'owner', canReadToken: true, canManage: true, canChangeSharing: true });
    assert.equal((await proxyCall(t, mia.key, id)).body.sub, 'mia');
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, mia.key)).status, 200);
    for (const other of [max.key, admin.key, t.apiKey]) {
      assert.equal((await get(other, id)).status, 404);
      assert.ok(!(await listed(other)).includes(id));
      assert.equal((await proxyCall(t, other, id)).status, 404);
      assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, other)).status, 404);
      assert.equal((await share(other, id, { sharing: 'shared' })).status, 404);
    }
  });

  test('shared to use: others call through the proxy as the owner, and never get the raw token (403)', async () => {
    const id = await connectAs(t, provider, integration, mia.key, 'mia');
    const shared = await share(mia.key, id, { sharing: 'shared', level: 'use' });
    assert.equal(shared.status, 200, JSON.stringify(shared.body));
    assert.deepEqual([shared.body.sharing, shared.body.shareLevel], ['shared', 'use']);

    const seen = await get(max.key, id);
    assert.deepEqual(seen.body.access, { via: 'shared:use', canReadToken: false, canManage: false, canChangeSharing: false });
    assert.ok((await listed(max.key)).includes(id));
    const call = await proxyCall(t, max.key, id);
    assert.deepEqual([call.status, call.body.sub], [200, 'mia'], 'the call acts as Mia at the provider');
    const token = await t.api('GET', `/v1/connections/${id}/token`, undefined, max.key);
    assert.equal(token.status, 403);
    assert.match(token.body.error.message, /Only the connection's owner reads its raw token/);
    assert.equal(token.body.accessToken, undefined);
    for (const [method, path, body] of [
      ['DELETE', `/v1/connections/${id}`, undefined], ['PATCH', `/v1/connections/${id}`, { name: 'mine now' }],
      ['POST', `/v1/connections/${id}/reauthorize`, {}], ['PATCH', `/v1/connections/${id}`, { sharing: 'shared', level: 'manage' }],
    ] as const) {
      assert.equal((await t.api(method, path, body, max.key)).status, 403, `${method} ${path}`);
    }
    const asAdmin = await get(admin.key, id);
    assert.deepEqual(asAdmin.body.access, { via: 'admin', canReadToken: false, canManage: true, canChangeSharing: true });
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, admin.key)).status, 403, 'not even an admin reads another\'s token');

    const entry = (await auditOf(t, 'connection.share')).find((e) => e.connection === id);
    assert.deepEqual([entry?.detail.from, entry?.detail.to, entry?.detail.member], [{ sharing: 'personal', level: null }, { sharing: 'shared', level: 'use' }, mia.memberId]);
    const proxied = (await auditOf(t, 'proxy.call')).find((e) => e.connection === id && e.detail.member === max.memberId);
    assert.ok(proxied, 'the gateway\'s entry names the member who called');
  });

  test('shared to manage: others may also rename, re-authenticate and disconnect, but not change the sharing', async () => {
    const id = await connectAs(t, provider, integration, mia.key, 'mia');
    assert.equal((await share(mia.key, id, { sharing: 'shared', level: 'manage' })).status, 200);
    const seen = await get(max.key, id);
    assert.deepEqual(seen.body.access, { via: 'shared:manage', canReadToken: false, canManage: true, canChangeSharing: false });
    const renamed = await share(max.key, id, { name: 'Team mailbox' });
    assert.deepEqual([renamed.status, renamed.body.name], [200, 'Team mailbox']);
    assert.ok((await auditOf(t, 'connection.rename')).some((e) => e.connection === id && e.detail.to === 'Team mailbox' && e.detail.member === max.memberId));
    assert.equal((await share(max.key, id, { sharing: 'personal' })).status, 403);
    const reauth = await t.api('POST', `/v1/connections/${id}/reauthorize`, {}, max.key);
    assert.equal(reauth.status, 201);
    assert.equal(reauth.body.transfersOwnership, true, 'done by Max it would make him the owner');
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, max.key)).status, 403);
    assert.equal((await t.api('DELETE', `/v1/connections/${id}`, undefined, max.key)).status, 204);
    assert.equal((await get(mia.key, id)).status, 404, 'disconnected for everyone');
  });

  test('a sharing change holds from the next call in the same process, both ways, though the connection was just in use', async () => {
    const id = await connectAs(t, provider, integration, mia.key, 'mia');
    assert.equal((await share(mia.key, id, { sharing: 'shared', level: 'use' })).status, 200);
    assert.equal((await proxyCall(t, max.key, id)).status, 200, 'Max uses it: its row is now in memory');
    assert.equal((await share(mia.key, id, { sharing: 'personal' })).status, 200);
    assert.equal((await proxyCall(t, max.key, id)).status, 404, 'made personal: Max is refused at once');
    assert.equal((await proxyCall(t, mia.key, id)).status, 200, 'Mia uses it: its row is in memory again');
    assert.equal((await share(mia.key, id, { sharing: 'shared', level: 'use' })).status, 200);
    assert.equal((await proxyCall(t, max.key, id)).status, 200, 'shared again: Max may use it at once');
  });

  test('a call through someone else\'s personal connection is a 404 that sets nothing in motion: no refresh at the provider', async () => {
    // Imported with a refresh token alone (one the provider will refuse): its first use must refresh it.
    const imported = await t.api('POST', '/v1/connections', { integration, type: 'oauth2', refreshToken: 'rt_the_provider_refuses' }, mia.key);
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    const id: string = imported.body.id;
    for (const other of [max.key, admin.key]) {
      const call = await proxyCall(t, other, id);
      assert.equal(call.status, 404, JSON.stringify(call.body));
      assert.equal(call.body.error.code, 'not_found');
    }
    assert.ok(!(await auditOf(t, 'token.refresh')).some((e) => e.connection === id), 'no refresh was made for them');
    const row = await t.kw.services.store.connections.get(t.kw.orgId, id);
    assert.deepEqual([row?.status, row?.statusReason ?? null], ['active', null], 'the connection is as Mia left it');
    const own = await proxyCall(t, mia.key, id);
    assert.deepEqual([own.status, own.body.error?.code], [409, 'needs_reauth'], 'Mia\'s own first call is what tries the refresh');
    assert.ok((await auditOf(t, 'token.refresh')).some((e) => e.connection === id));
  });

  test('only the owner or an admin changes the sharing; every change is audited; made personal it is private again', async () => {
    const id = await connectAs(t, provider, integration, mia.key, 'mia');
    assert.equal((await share(mia.key, id, { sharing: 'shared' })).body.shareLevel, 'use', 'use is the default level');
    const byAdmin = await share(admin.key, id, { sharing: 'shared', level: 'manage' });
    assert.deepEqual([byAdmin.status, byAdmin.body.shareLevel], [200, 'manage']);
    assert.equal((await share(max.key, id, { sharing: 'shared', level: 'use' })).status, 403);
    const bad = await share(mia.key, id, { sharing: 'personal', level: 'use' });
    assert.equal(bad.status, 400);
    assert.equal((await share(mia.key, id, { sharing: 'personal' })).status, 200);
    assert.equal((await get(max.key, id)).status, 404);
    assert.equal((await get(admin.key, id)).status, 404);
    const changes = (await auditOf(t, 'connection.share')).filter((e) => e.connection === id).map((e) => [e.detail.member, e.detail.to.sharing, e.detail.to.level]);
    assert.deepEqual(changes.reverse(), [[mia.memberId, 'shared', 'use'], [admin.memberId, 'shared', 'manage'], [mia.memberId, 'personal', null]]);
  });

  test('an owner leaving: personal connections are disconnected; shared ones stay usable, marked as a former member\'s', async () => {
    const lea = await invitePerson(t, t.apiKey, 'lea@example.test', 'member');
    const personal = await connectAs(t, provider, integration, lea.key, 'lea');
    const sharedId = await connectAs(t, provider, integration, lea.key, 'lea');
    assert.equal((await share(lea.key, sharedId, { sharing: 'shared', level: 'use' })).status, 200);
    const removed = await t.api('DELETE', `/v1/members/${lea.memberId}`);
    assert.deepEqual([removed.body.disconnectedConnections, removed.body.sharedConnectionsKept], [[personal], [sharedId]]);
    assert.equal(await t.kw.services.store.connections.get(t.kw.orgId, personal), null, 'the personal one is gone, tokens and all');
    const deleted = (await auditOf(t, 'connection.delete')).find((e) => e.connection === personal);
    assert.equal(deleted?.detail.revocation, 'revoked', 'revoked at the provider');

    const call = await proxyCall(t, max.key, sharedId);
    assert.deepEqual([call.status, call.body.sub], [200, 'lea'], 'still usable, still acting as Lea');
    const seen = (await t.api('GET', '/v1/connections', undefined, max.key)).body.data.find((c: { id: string }) => c.id === sharedId);
    assert.equal(seen.authorizedByFormerMember, true);
    assert.deepEqual([seen.owner.email, seen.owner.formerMember], ['lea@example.test', true]);
    assert.match(seen.ownerNote, /former member \(lea@example\.test\).*still act as that person/);
    const personalNow = await share(admin.key, sharedId, { sharing: 'personal' });
    assert.equal(personalNow.status, 409, 'nobody could use it');
  });

  test('an admin transfers a former member\'s connection by re-authenticating it as themselves', async () => {
    const leo = await invitePerson(t, t.apiKey, 'leo@example.test', 'member');
    const id = await connectAs(t, provider, integration, leo.key, 'leo');
    assert.equal((await share(leo.key, id, { sharing: 'shared', level: 'use' })).status, 200);
    assert.equal((await t.api('DELETE', `/v1/members/${leo.memberId}`)).status, 200);

    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`, {}, admin.key);
    assert.deepEqual([started.status, started.body.transfersOwnership], [201, true]);
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(started.body.connectUrl, provider, jar, { username: 'adam' });
    const page = await jar.fetch(callbackUrl);
    assert.equal(page.status, 200, await page.text());

    const now = await get(admin.key, id);
    assert.deepEqual([now.body.owner.id, now.body.authorizedByFormerMember, now.body.ownerNote, now.body.access.via], [admin.memberId, false, null, 'owner']);
    assert.deepEqual([now.body.sharing, now.body.shareLevel], ['shared', 'use'], 'sharing is kept');
    assert.equal((await proxyCall(t, max.key, id)).body.sub, 'adam', 'calls now act as the new owner');
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`, undefined, admin.key)).status, 200, 'the new owner reads the token');
    const transfer = (await auditOf(t, 'connection.transfer')).find((e) => e.connection === id);
    assert.deepEqual([transfer?.detail.fromMember, transfer?.detail.toMember, transfer?.detail.previousTokensRevoked], [leo.memberId, admin.memberId, true]);
  });
});
