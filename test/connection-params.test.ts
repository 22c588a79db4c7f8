import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar } from './helpers/browserless.ts';
import { type ApiResponse, type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { FakeProvider, addFakeIntegration, connectThroughFake } from './helpers/fake-provider.ts';

describe('connection values (subdomain, tenant, shop) given as params when connecting', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  const integration = new Map<string, string>();

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    for (const provider of ['zendesk', 'microsoft', 'shopify', 'github']) {
      const res = await t.api('POST', '/v1/integrations', { provider, clientId: `client-${provider}`, clientSecret: 'secret' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      integration.set(provider, res.body.id);
    }
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  const start = (provider: string, params?: Record<string, unknown>): Promise<ApiResponse> =>
    t.api('POST', '/v1/connect-sessions', { integration: integration.get(provider), ...(params ? { params } : {}) });

  /** Where the connect link sends the browser (Keyway's redirect to the provider). */
  const authorizationRequest = async (connectUrl: string): Promise<URL> => {
    const res = await new CookieJar().fetch(connectUrl);
    assert.equal(res.status, 302);
    return new URL(res.headers.get('location') ?? '');
  };

  const refused = (res: ApiResponse, ...patterns: RegExp[]) => {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.headers.get('keyway-error'), 'invalid_request');
    for (const p of patterns) assert.match(res.body.error.message, p);
  };

  test('a value that is not a subdomain is refused, naming the param and an example', async () => {
    for (const bad of ['evil.com/x', 'a.b', 'evil.com', 'acme.zendesk.com', '-acme', 'ACME', 'a b', 'acme#x', 'acme?x=1', '', 'x'.repeat(64)]) {
      const res = await start('zendesk', { subdomain: bad });
      if (bad === '') {
        refused(res, /needs "params\.subdomain"/, /"acme"/);
        continue;
      }
      refused(res, /"params\.subdomain" is not a valid Zendesk subdomain/, /e\.g\. "acme"/);
    }
  });

  test('a param the provider does not take is refused, naming it and the ones it takes', async () => {
    refused(await start('zendesk', { subdomain: 'acme', region: 'eu' }), /no connection param "region"/, /subdomain/);
    refused(await start('github', { tenant: 'common' }), /GitHub takes no connection params; remove "params\.tenant"/);
  });

  test('a required param that is missing is refused with an example', async () => {
    refused(await start('zendesk'), /Zendesk needs "params\.subdomain" \(Zendesk subdomain, e\.g\. "acme"\)/);
    refused(await start('shopify'), /needs "params\.shop"/, /"acme-store"/);
  });

  test('a valid subdomain builds the authorization URL and is kept on the session', async () => {
    const res = await start('zendesk', { subdomain: 'acme' });
    assert.equal(res.status, 201);
    const url = await authorizationRequest(res.body.connectUrl);
    assert.equal(url.origin, 'https://acme.zendesk.com');
    assert.equal(url.pathname, '/oauth/authorizations/new');
    assert.equal(url.searchParams.get('client_id'), 'client-zendesk');
    const session = await t.api('GET', `/v1/connect-sessions/${res.body.id}`);
    assert.deepEqual(session.body.params, { subdomain: 'acme' });
  });

  test('Microsoft takes the default tenant "common" when none is given, or the one given', async () => {
    const byDefault = await start('microsoft');
    assert.equal(byDefault.status, 201);
    assert.deepEqual((await t.api('GET', `/v1/connect-sessions/${byDefault.body.id}`)).body.params, { tenant: 'common' });
    assert.equal((await authorizationRequest(byDefault.body.connectUrl)).toString().split('?')[0], 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize');
    const tenant = await start('microsoft', { tenant: 'contoso.onmicrosoft.com' });
    assert.equal(tenant.status, 201);
    assert.equal((await authorizationRequest(tenant.body.connectUrl)).pathname, '/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
    for (const bad of ['../common', 'common/../x', 'a..b', 'evil.com/x']) refused(await start('microsoft', { tenant: bad }), /"params\.tenant" is not a valid Microsoft tenant/);
  });

  test('Shopify\'s shop builds the shop\'s own authorization URL with comma-separated scopes', async () => {
    const res = await start('shopify', { shop: 'acme-store' });
    assert.equal(res.status, 201);
    const url = await authorizationRequest(res.body.connectUrl);
    assert.equal(`${url.origin}${url.pathname}`, 'https://acme-store.myshopify.com/admin/oauth/authorize');
    assert.equal(url.searchParams.get('scope'), 'read_products');
    refused(await start('shopify', { shop: 'acme.myshopify.com' }), /"params\.shop" is not a valid Shopify shop name/);
  });

  test('the params are kept on the connection: GET /v1/connections/{id} shows them, and its token endpoint used them', async () => {
    const fakeZendesk = await addFakeIntegration(t, fake, 'zendesk');
    fake.token = () => ({ json: { access_token: 'zendesk-token-1', token_type: 'bearer', scope: 'read' } });
    const run = await connectThroughFake(t, fakeZendesk.id, { params: { subdomain: 'acme' } });
    assert.equal(run.authorizeUrl.pathname, '/acme.zendesk.com/oauth/authorizations/new');
    assert.equal(fake.tokenRequests().at(-1)?.path, '/acme.zendesk.com/oauth/tokens');
    const c = await t.api('GET', `/v1/connections/${run.connection.id}`);
    assert.deepEqual(c.body.params, { subdomain: 'acme' });
    const listed = (await t.api('GET', '/v1/connections')).body.data.find((x: { id: string }) => x.id === run.connection.id);
    assert.deepEqual(listed.params, { subdomain: 'acme' });
  });
});
