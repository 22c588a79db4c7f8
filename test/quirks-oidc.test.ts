import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { FAKE_CLIENT_SECRET, FakeProvider, type FakeRequest, addFakeIntegration, connectThroughFake } from './helpers/fake-provider.ts';

const HOUR = 3_600_000;
const GOOGLE_SCOPES = 'openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile';

describe('Google quirks, replayed from a fake Google on 127.0.0.1', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let integration: { id: string; clientId: string };
  /** Whether the code exchange brings a refresh token (Google sends one only on consent). */
  let giveRefreshToken = true;
  let issued = 0;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    integration = await addFakeIntegration(t, fake, 'google');
    // Google's real shapes: Bearer, 3599 s, long scope names, an ID token; refresh answers carry no refresh_token.
    fake.token = (req: FakeRequest) => {
      issued++;
      const idToken = fake.idToken({ iss: `${fake.base}/accounts.google.com`, aud: integration.clientId, sub: '110169484474386276334', email: 'alice@example.com', email_verified: true,
        ...(req.form.get('grant_type') === 'authorization_code' ? { nonce: fake.authorizationFor(req).searchParams.get('nonce') } : {}) });
      const base = { access_token: `ya29.a0AfH6SM-${issued}`, expires_in: 3599, scope: GOOGLE_SCOPES, token_type: 'Bearer', id_token: idToken };
      if (req.form.get('grant_type') === 'refresh_token') return { json: base };
      return { json: giveRefreshToken ? { ...base, refresh_token: `1//0gLongLivedRefresh-${issued}` } : base };
    };
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  test('Google is asked for offline access and consent, with PKCE and a nonce', async () => {
    giveRefreshToken = true;
    const run = await connectThroughFake(t, integration.id);
    const q = run.authorizeUrl.searchParams;
    assert.equal(q.get('access_type'), 'offline');
    assert.equal(q.get('prompt'), 'consent');
    assert.equal(q.get('scope'), 'openid email profile');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok(q.get('nonce'));
    assert.match(run.page.text, /Connected!/);
    const c = run.connection;
    assert.equal(c.status, 'active');
    assert.equal(c.hasRefreshToken, true);
    assert.equal(c.statusReason, null);
    assert.deepEqual(c.missingScopes, [], 'userinfo.email/profile read as email/profile');
    assert.deepEqual(c.account, { issuer: `${fake.base}/accounts.google.com`, subject: '110169484474386276334', label: 'alice@example.com' });
    // client_secret_post: Google reads the client credentials from the body.
    const exchange = fake.tokenRequests().at(-1);
    assert.equal(exchange?.form.get('client_secret'), FAKE_CLIENT_SECRET);
  });

  test('a Google refresh answer without refresh_token keeps the stored refresh token for the next refresh', async () => {
    giveRefreshToken = true;
    const run = await connectThroughFake(t, integration.id);
    const id = run.connection.id as string;
    const original = fake.tokenRequests().at(-1);
    assert.equal(original?.form.get('grant_type'), 'authorization_code');
    const refreshToken = `1//0gLongLivedRefresh-${issued}`;
    for (let round = 1; round <= 2; round++) {
      t.clock.advance(HOUR);
      const res = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.accessToken, `ya29.a0AfH6SM-${issued}`);
      const sent = fake.tokenRequests().at(-1);
      assert.equal(sent?.form.get('grant_type'), 'refresh_token');
      assert.equal(sent?.form.get('refresh_token'), refreshToken, `round ${round} used the first refresh token`);
    }
    const c = (await t.api('GET', `/v1/connections/${id}`)).body;
    assert.equal(c.status, 'active');
    assert.equal(c.hasRefreshToken, true);
  });

  test('a Google connection that came back without a refresh token says so, and asks to reconnect once its token expired', async () => {
    giveRefreshToken = false;
    const run = await connectThroughFake(t, integration.id);
    const c = run.connection;
    assert.equal(c.status, 'active');
    assert.equal(c.hasRefreshToken, false);
    assert.match(c.statusReason, /Google \(fake\) gave no refresh token/);
    assert.match(c.statusReason, /myaccount\.google\.com\/permissions/);
    t.clock.advance(HOUR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('keyway-error'), 'needs_reauth');
    assert.equal((await t.api('GET', `/v1/connections/${c.id}`)).body.status, 'needs_reauth');
  });
});

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const CONSUMERS = '9188040d-6c67-4c5b-b112-36a304b66dad';

describe('Microsoft quirks: the tenant in the URLs, and the ID token issuer checked against its tid', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let integration: { id: string; clientId: string };
  /** What the next ID token says about its tenant. */
  let token: { tid: string; issTenant: string } = { tid: TENANT, issTenant: TENANT };
  let issued = 0;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    integration = await addFakeIntegration(t, fake, 'microsoft');
    fake.token = (req: FakeRequest) => {
      issued++;
      const claims: Record<string, unknown> = {
        iss: `${fake.base}/login.microsoftonline.com/${token.issTenant}/v2.0`, aud: integration.clientId, tid: token.tid,
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', oid: '00000000-0000-0000-66f3-3332eca7ea81', preferred_username: 'alice@contoso.com', ver: '2.0',
        ...(req.form.get('grant_type') === 'authorization_code' ? { nonce: fake.authorizationFor(req).searchParams.get('nonce') } : {}),
      };
      return { json: { token_type: 'Bearer', scope: 'openid profile email offline_access User.Read', expires_in: 4166, ext_expires_in: 4166, access_token: `eyJ0eXAi-${issued}`, refresh_token: `0.AAAA-${issued}`, id_token: fake.idToken(claims) } };
    };
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  test('organizations: the tenant is in the authorization and token URLs; a work account\'s tenant issuer is accepted', async () => {
    token = { tid: TENANT, issTenant: TENANT };
    const run = await connectThroughFake(t, integration.id, { params: { tenant: 'organizations' } });
    assert.equal(run.authorizeUrl.pathname, '/login.microsoftonline.com/organizations/oauth2/v2.0/authorize');
    assert.equal(fake.tokenRequests().at(-1)?.path, '/login.microsoftonline.com/organizations/oauth2/v2.0/token');
    assert.match(run.page.text, /Connected!/);
    const c = run.connection;
    assert.deepEqual(c.params, { tenant: 'organizations' });
    assert.equal(c.account.issuer, `${fake.base}/login.microsoftonline.com/${TENANT}/v2.0`);
    assert.equal(c.account.label, 'alice@contoso.com');
    assert.equal(c.providerValues.tenant_id, TENANT);
    // A refresh brings a new ID token, checked the same way; the new refresh token is stored.
    t.clock.advance(2 * HOUR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(fake.tokenRequests().at(-1)?.path, '/login.microsoftonline.com/organizations/oauth2/v2.0/token');
  });

  test('common is the default tenant; any tenant\'s own issuer is accepted', async () => {
    token = { tid: OTHER_TENANT, issTenant: OTHER_TENANT };
    const run = await connectThroughFake(t, integration.id);
    assert.equal(run.authorizeUrl.pathname, '/login.microsoftonline.com/common/oauth2/v2.0/authorize');
    assert.match(run.page.text, /Connected!/);
    assert.deepEqual(run.connection.params, { tenant: 'common' });
    assert.equal(run.connection.account.issuer, `${fake.base}/login.microsoftonline.com/${OTHER_TENANT}/v2.0`);
  });

  test('common: an ID token whose iss names another tenant than its tid is refused and nothing is stored', async () => {
    token = { tid: TENANT, issTenant: OTHER_TENANT };
    const run = await connectThroughFake(t, integration.id);
    assert.equal(run.page.status, 400);
    assert.match(run.page.text, /Nothing was stored/);
    assert.match(run.page.text, /iss/);
    assert.equal(run.connection, null);
    assert.equal(run.session.status, 'failed');
  });

  test('common: an ID token issued as the literal "common" issuer is refused', async () => {
    token = { tid: TENANT, issTenant: 'common' };
    const run = await connectThroughFake(t, integration.id);
    assert.equal(run.connection, null);
  });

  test('organizations refuses a personal Microsoft account (the consumers tenant)', async () => {
    token = { tid: CONSUMERS, issTenant: CONSUMERS };
    const run = await connectThroughFake(t, integration.id, { params: { tenant: 'organizations' } });
    assert.equal(run.connection, null);
    assert.match(run.page.text, /Not connected/);
  });

  test('a tenant given by id accepts only that tenant', async () => {
    token = { tid: OTHER_TENANT, issTenant: OTHER_TENANT };
    const refused = await connectThroughFake(t, integration.id, { params: { tenant: TENANT } });
    assert.equal(refused.connection, null);
    token = { tid: TENANT, issTenant: TENANT };
    const accepted = await connectThroughFake(t, integration.id, { params: { tenant: TENANT } });
    assert.match(accepted.page.text, /Connected!/);
    assert.equal(accepted.authorizeUrl.pathname, `/login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize`);
  });
});
