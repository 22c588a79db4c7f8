import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';

describe('connecting an account through a real authorization server', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: { id: string; redirectUri: string };

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = await addIntegration(t, provider);
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  const connectionCount = async () => (await t.api('GET', '/v1/connections')).body.data.length as number;

  test('the integration shows its own redirect URI and the discovered endpoints, never the secret', async () => {
    const res = await t.api('GET', `/v1/integrations/${integration.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.redirectUri, `${t.kw.url}/oauth/callback/${integration.id}`);
    assert.equal(res.body.endpoints.issuer, provider.issuer);
    assert.equal(res.body.endpoints.tokenUrl, `${provider.issuer}/token`);
    assert.equal(res.body.hasClientSecret, true);
    assert.ok(!JSON.stringify(res.body).includes('test-client-secret'));
  });

  test('a person signs in and consents; Keyway stores the connection and says the tab can be closed', async () => {
    const run = await connectInBrowser(t, provider, integration.id, { username: 'alice', session: { name: 'Alice sandbox', externalId: 'user-42', metadata: { plan: 'pro' } } });
    assert.equal(run.page.status, 200);
    assert.match(run.page.text, /Connected!/);
    assert.match(run.page.text, /You can close this tab/);
    // The page tells an opener, on Keyway's own origin only.
    assert.match(run.page.text, new RegExp(`postMessage\\(.*"status":"connected".*, "${t.kw.url}"\\)`));
    // The browser's authorization request carried PKCE S256, state and nonce.
    const session = await t.api('GET', `/v1/connect-sessions/${run.sessionId}`);
    assert.equal(session.body.status, 'connected');
    const list = await t.api('GET', '/v1/connections?externalId=user-42');
    assert.equal(list.body.data.length, 1);
    const c = list.body.data[0];
    assert.equal(c.id, session.body.connection);
    assert.equal(c.name, 'Alice sandbox');
    assert.deepEqual(c.metadata, { plan: 'pro' });
    assert.equal(c.status, 'active');
    assert.deepEqual(c.requestedScopes, ['openid', 'profile', 'items:read']);
    assert.deepEqual(c.missingScopes, []);
    assert.ok(Date.parse(c.accessTokenExpiresAt) > t.clock.now());
    assert.ok(!('accessToken' in c) && !JSON.stringify(c).includes('refresh_token'));
    // And the token works at the provider's API.
    const token = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(token.status, 200);
    const me = await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${token.body.accessToken}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).sub, 'alice');
    // Made for the member whose key started the session (the browser only carried it), and audited so.
    const created = await t.api('GET', `/v1/audit?connection=${c.id}&action=connection.create`);
    const me2 = await t.api('GET', '/v1/me');
    assert.equal(created.body.data[0].actor.type, 'member');
    assert.equal(created.body.data[0].actor.id, me2.body.member.id);
  });

  test('when fewer scopes are granted than requested, the connection says which are missing', async () => {
    // The provider drops offline_access unless consent is forced: a real partial grant.
    const partial = await addIntegration(t, provider, { scopes: ['openid', 'offline_access', 'items:read'] });
    const run = await connectInBrowser(t, provider, partial.id);
    assert.match(run.page.text, /fewer permissions than requested; missing: offline_access/);
    const c = (await t.api('GET', `/v1/connections?integration=${partial.id}`)).body.data[0];
    assert.deepEqual(c.grantedScopes, ['openid', 'items:read']);
    assert.deepEqual(c.missingScopes, ['offline_access']);
    assert.match(c.scopeNote, /Re-authenticate to ask again/);
  });

  test('the authorization request uses PKCE S256, a state and a nonce', async () => {
    const created = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
    const res = await fetch(created.body.connectUrl, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get('location')!);
    assert.equal(url.origin + url.pathname, `${provider.issuer}/auth`);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.match(url.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(url.searchParams.get('state')!.length >= 40);
    assert.ok(url.searchParams.get('nonce'));
    assert.equal(url.searchParams.get('redirect_uri'), integration.redirectUri);
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
  });

  test('a reused state is refused with a page that says to start again, and nothing is stored', async () => {
    const run = await connectInBrowser(t, provider, integration.id);
    assert.match(run.page.text, /Connected!/);
    const before = await connectionCount();
    const again = await run.jar.fetch(run.callbackUrl);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /already used or is unknown\. Start again from Connect/);
    assert.equal(await connectionCount(), before);
  });

  test('a callback arriving in another browser is refused', async () => {
    const created = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(created.body.connectUrl, provider, jar);
    const before = await connectionCount();
    const other = await new CookieJar().fetch(callbackUrl);
    assert.equal(other.status, 400);
    assert.match(await other.text(), /started in a different browser/);
    assert.equal(await connectionCount(), before);
  });

  test('a wrong or missing iss is refused (RFC 9207), nothing stored', async () => {
    for (const tamper of [(u: URL) => u.searchParams.set('iss', 'https://evil.example'), (u: URL) => u.searchParams.delete('iss')]) {
      const created = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
      const jar = new CookieJar();
      const { callbackUrl } = await startAndAuthorize(created.body.connectUrl, provider, jar);
      tamper(callbackUrl);
      const before = await connectionCount();
      const res = await jar.fetch(callbackUrl);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /different authorization server|did not say who it is/);
      assert.equal(await connectionCount(), before);
    }
  });

  test('declining consent shows what happened, stores nothing, and the session says denied (as in the device flow)', async () => {
    const before = await connectionCount();
    const run = await connectInBrowser(t, provider, integration.id, { decision: 'deny' });
    assert.equal(run.page.status, 400);
    assert.match(run.page.text, /Access was declined/);
    assert.match(run.page.text, /access_denied/);
    assert.equal(await connectionCount(), before);
    const session = await t.api('GET', `/v1/connect-sessions/${run.sessionId}`);
    assert.equal(session.body.status, 'denied');
    assert.equal(session.body.error, 'access_denied');
  });

  test('a state older than 10 minutes has expired', async () => {
    const created = await t.api('POST', '/v1/connect-sessions', { integration: integration.id });
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(created.body.connectUrl, provider, jar);
    t.clock.advance(11 * 60_000);
    const res = await jar.fetch(callbackUrl);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /expired\. Start again from Connect/);
  });

  test('an unknown connect link says to ask for a new one', async () => {
    const res = await fetch(`${t.kw.url}/connect/not-a-real-link`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /not valid\. Ask for a new link/);
  });

  test('deleting a connection removes it at once', async () => {
    const run = await connectInBrowser(t, provider, integration.id, { session: { externalId: 'to-delete' } });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', '/v1/connections?externalId=to-delete')).body.data[0].id;
    assert.equal((await t.api('DELETE', `/v1/connections/${id}`)).status, 204);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).status, 404);
    const tok = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(tok.status, 404);
    assert.equal(tok.headers.get('keyway-error'), 'not_found');
  });
});
