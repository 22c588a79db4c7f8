import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDefinition } from '../src/catalog/index.ts';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { CLIENT_SECRET, type TestKeyway, addIntegration, connectInBrowser, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;

describe('re-authenticate: new tokens, the same connection, the same account only', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: { id: string; redirectUri: string; clientId: string };

  before(async () => {
    provider = await startProvider();
    // A provider that names accounts by a userinfo call (like GitHub's /user), on the sandbox.
    const userinfo = parseDefinition({
      id: 'userinfo-sandbox', name: 'Userinfo Sandbox', authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`,
      scopes: { default: ['items:read'] }, identity: { source: 'userinfo', url: `${provider.issuer}/api/me`, subject: 'sub', label: 'email' },
    }, 'test');
    t = await startTestKeyway({ extraDefinitions: [userinfo] });
    integration = await addIntegration(t, provider);
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  async function connect(username: string, externalId: string): Promise<string> {
    const run = await connectInBrowser(t, provider, integration.id, { username, session: { externalId, name: `${username}'s sandbox`, metadata: { team: 'red' } } });
    assert.match(run.page.text, /Connected!/);
    return (await t.api('GET', `/v1/connections?externalId=${externalId}`)).body.data[0].id;
  }

  /** Opens the re-authentication link in a fresh browser and signs in as `username`. */
  async function reauthorize(id: string, username: string, body: Record<string, unknown> = {}): Promise<{ status: number; text: string; sessionId: string }> {
    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`, body);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.body.reauthorizes, id);
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(started.body.connectUrl, provider, jar, { username });
    const res = await jar.fetch(callbackUrl);
    return { status: res.status, text: await res.text(), sessionId: started.body.id };
  }

  const refreshTokenOf = async (id: string) => {
    const c = (await t.kw.services.store.connections.get(t.kw.orgId, id))!;
    return t.kw.services.vault.decrypt({ orgId: c.orgId, recordId: c.id, field: 'refresh_token' }, c.refreshTokenEnc!);
  };

  test('reconnecting keeps the id, name, externalId, metadata and owner, and replaces the tokens', async () => {
    const id = await connect('alice', 'alice-1');
    const before = (await t.api('GET', `/v1/connections/${id}`)).body;
    const ownerBefore = (await t.kw.services.store.connections.get(t.kw.orgId, id))!.ownerMemberId;
    assert.ok(ownerBefore);
    const oldToken = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
    const oldRefresh = await refreshTokenOf(id);
    const count = (await t.api('GET', '/v1/connections?limit=200')).body.data.length;

    const page = await reauthorize(id, 'alice');
    assert.equal(page.status, 200);
    assert.match(page.text, /Reconnected!/);
    assert.match(page.text, /You can close this tab/);

    const after = (await t.api('GET', `/v1/connections/${id}`)).body;
    for (const k of ['id', 'name', 'externalId', 'metadata', 'createdAt', 'integration', 'account'] as const) assert.deepEqual(after[k], before[k], k);
    assert.equal((await t.kw.services.store.connections.get(t.kw.orgId, id))!.ownerMemberId, ownerBefore);
    assert.equal(after.status, 'active');
    assert.equal((await t.api('GET', '/v1/connections?limit=200')).body.data.length, count, 'no new connection');
    const newToken = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
    assert.notEqual(newToken, oldToken, 'the cached token was dropped: the new one is served at once');
    assert.notEqual(await refreshTokenOf(id), oldRefresh);
    const me = await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${newToken}` } });
    assert.equal((await me.json()).sub, 'alice');
    const session = await t.api('GET', `/v1/connect-sessions/${page.sessionId}`);
    assert.equal(session.body.status, 'connected');
    assert.equal(session.body.connection, id);
    const audit = await t.api('GET', `/v1/audit?connection=${id}&action=connection.reauthorize`);
    assert.equal(audit.body.data.length, 1);
  });

  test('a connection that needs re-auth is active again once reconnected', async () => {
    const id = await connect('bruno', 'bruno-1');
    await provider.sandbox.revokeAccountGrants('bruno');
    t.clock.advance(6 * MIN);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'needs_reauth');
    const page = await reauthorize(id, 'bruno');
    assert.match(page.text, /Reconnected!/);
    const after = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(after.status, 'active');
    assert.equal(after.statusReason, null);
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 200);
  });

  test('another account is refused with a page that says whose connection it is, and nothing changes', async () => {
    const id = await connect('carol', 'carol-1');
    const before = await t.kw.services.store.connections.get(t.kw.orgId, id);
    const page = await reauthorize(id, 'mallory');
    assert.equal(page.status, 400);
    assert.match(page.text, /Not connected/);
    assert.match(page.text, /This connection belongs to the [^<]* account carol, but you signed in as mallory\. Nothing was changed\./);
    assert.deepEqual(await t.kw.services.store.connections.get(t.kw.orgId, id), before, 'the row is untouched');
    const session = await t.api('GET', `/v1/connect-sessions/${page.sessionId}`);
    assert.equal(session.body.status, 'failed');
    assert.equal(session.body.error, 'account_mismatch');
    const audit = await t.api('GET', `/v1/audit?connection=${id}&action=connection.reauth_refused`);
    assert.equal(audit.body.data.length, 1);
    assert.equal(audit.body.data[0].outcome, 'error');
    assert.equal(audit.body.data[0].detail.expectedAccount, 'carol');
    assert.equal(audit.body.data[0].detail.signedInAccount, 'mallory');
  });

  test('a reconnect granting fewer scopes than requested says so, on the page and on the connection', async () => {
    const id = await connect('dora', 'dora-1');
    // The sandbox drops offline_access unless consent is forced: a real partial grant.
    const page = await reauthorize(id, 'dora', { scopes: ['openid', 'offline_access', 'items:read'] });
    assert.match(page.text, /Reconnected!/);
    assert.match(page.text, /fewer permissions than requested; missing: offline_access/);
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.deepEqual(c.requestedScopes, ['openid', 'offline_access', 'items:read']);
    assert.deepEqual(c.missingScopes, ['offline_access']);
    assert.match(c.scopeNote, /fewer scopes than requested; missing: offline_access/);
  });

  test('a reconnect whose response has no refresh token keeps the old one', async () => {
    const id = await connect('eve', 'eve-1');
    const oldRefresh = await refreshTokenOf(id);
    const register = (grantTypes: string[]) => provider.sandbox.registerClient({ clientId: integration.clientId, clientSecret: CLIENT_SECRET, redirectUris: [integration.redirectUri], grantTypes });
    await register(['authorization_code']); // the provider now issues no refresh token
    try {
      const page = await reauthorize(id, 'eve');
      assert.match(page.text, /Reconnected!/);
    } finally {
      await register(['authorization_code', 'refresh_token']);
    }
    assert.equal(await refreshTokenOf(id), oldRefresh);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.hasRefreshToken, true);
  });

  test('identity from a userinfo call: the page names the connection\'s account by its email', async () => {
    const res = await t.api('POST', '/v1/integrations', { provider: 'userinfo-sandbox', clientId: 'userinfo-client', clientSecret: CLIENT_SECRET });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await provider.sandbox.registerClient({ clientId: 'userinfo-client', clientSecret: CLIENT_SECRET, redirectUris: [res.body.redirectUri] });
    const run = await connectInBrowser(t, provider, res.body.id, { username: 'fiona', session: { externalId: 'fiona-ui' } });
    assert.match(run.page.text, /Connected!/);
    const c = (await t.api('GET', '/v1/connections?externalId=fiona-ui')).body.data[0];
    assert.deepEqual(c.account, { issuer: 'userinfo-sandbox', subject: 'fiona', label: 'fiona@sandbox.keyway.test' });

    const same = await t.api('POST', `/v1/connections/${c.id}/reauthorize`);
    const jar = new CookieJar();
    const ok = await jar.fetch((await startAndAuthorize(same.body.connectUrl, provider, jar, { username: 'fiona' })).callbackUrl);
    assert.match(await ok.text(), /Reconnected!/);

    const other = await t.api('POST', `/v1/connections/${c.id}/reauthorize`);
    const jar2 = new CookieJar();
    const refused = await jar2.fetch((await startAndAuthorize(other.body.connectUrl, provider, jar2, { username: 'gus' })).callbackUrl);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /belongs to the Userinfo Sandbox account fiona@sandbox\.keyway\.test \(fiona\), but you signed in as gus@sandbox\.keyway\.test \(gus\)/);
  });

  test('re-authenticating a connection that was disconnected meanwhile stores nothing', async () => {
    const id = await connect('hugo', 'hugo-1');
    const started = await t.api('POST', `/v1/connections/${id}/reauthorize`);
    assert.equal((await t.api('DELETE', `/v1/connections/${id}`)).status, 204);
    const jar = new CookieJar();
    const res = await jar.fetch((await startAndAuthorize(started.body.connectUrl, provider, jar, { username: 'hugo' })).callbackUrl);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /no longer exists/);
    assert.equal((await t.api('GET', '/v1/connections?externalId=hugo-1')).body.data.length, 0);
  });
});
