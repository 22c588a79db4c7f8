import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { FAKE_CLIENT_SECRET, type FakeAnswer, FakeProvider, type FakeRequest, addFakeIntegration, connectThroughFake } from './helpers/fake-provider.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const YEAR = 365 * 24 * HOUR;

describe('Salesforce, Dropbox, Notion, HubSpot and Zoho, replayed on 127.0.0.1', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  const integration = new Map<string, string>();
  let answer: (req: FakeRequest) => FakeAnswer;
  let n = 0;

  before(async () => {
    fake = await FakeProvider.start();
    t = await startTestKeyway();
    for (const id of ['salesforce', 'dropbox', 'notion', 'hubspot', 'zoho']) integration.set(id, (await addFakeIntegration(t, fake, id)).id);
    fake.token = (req) => answer(req);
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  const salesforceTokens = (instanceUrl: string) => (req: FakeRequest): FakeAnswer => ({ json: {
    access_token: `00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog-${++n}`, signature: 'CMJ4l+CCaPQiKjoOEwEig9H4wqhpuLSk4J2urAe+fVg=', scope: 'refresh_token api',
    instance_url: instanceUrl, id: 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS', token_type: 'Bearer', issued_at: '1278448101416',
    ...(req.form.get('grant_type') === 'authorization_code' ? { refresh_token: '5Aep861.TnnmQ6Ls8K5H7hHJm5B9hgcsfmjrtbz1SAAlWJ81Dv6qqsYgwwSUYgQdGkmqqgkk' } : {}),
  } });

  test('Salesforce: no expires_in, so the token is used until a 401 (still served a year later); instance_url kept; login host from params', async () => {
    answer = salesforceTokens('https://acme.my.salesforce.com');
    const run = await connectThroughFake(t, integration.get('salesforce') ?? '', { params: { login_host: 'acme.my.salesforce.com' } });
    assert.equal(run.authorizeUrl.pathname, '/acme.my.salesforce.com/services/oauth2/authorize');
    assert.equal(fake.tokenRequests().at(-1)?.path, '/acme.my.salesforce.com/services/oauth2/token');
    const c = run.connection;
    assert.equal(c.accessTokenExpiresAt, null);
    assert.equal(c.hasRefreshToken, true);
    assert.deepEqual(c.providerValues, { instance_url: 'https://acme.my.salesforce.com' });
    assert.equal(c.account.subject, 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS');
    const calls = fake.tokenRequests().length;
    t.clock.advance(YEAR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 200);
    assert.equal(res.body.expiresAt, null);
    assert.equal(fake.tokenRequests().length, calls, 'no refresh without a 401');
    // A refresh answer brings no refresh token: the stored one is kept.
    const refreshed = await t.api('POST', `/v1/connections/${c.id}/refresh`);
    assert.equal(refreshed.status, 200);
    assert.equal(refreshed.body.hasRefreshToken, true);
    assert.equal(refreshed.body.status, 'active');
  });

  test('Salesforce: an instance_url outside Salesforce\'s domains is refused and no connection is created', async () => {
    for (const evil of ['https://evil.example', 'https://acme.my.salesforce.com.evil.example', 'http://acme.my.salesforce.com', 'https://user:pw@acme.my.salesforce.com']) {
      answer = salesforceTokens(evil);
      const run = await connectThroughFake(t, integration.get('salesforce') ?? '');
      assert.equal(run.connection, null, evil);
      assert.equal(run.page.status, 400);
      assert.match(run.page.text, /instance_url/);
      assert.match(run.page.text, /Nothing was stored/);
    }
  });

  test('Dropbox: token_access_type=offline is sent, so a refresh token comes back; the account id is kept', async () => {
    answer = () => ({ json: {
      access_token: 'sl.u.AbX9y6Fe3AuH5o66-gmJpR032jwAwQPIVVzWXZNkdzcYT02akC2de219dZi6gxYPVnYPrpvISRSf9lxKWJzYLjtMPH', expires_in: 14400, token_type: 'bearer',
      scope: 'account_info.read', refresh_token: 'nBiM85CZALsAAAAAAAAAAQXHBoNpNutK4ngsXHsqW4iGz9tisb3JyjGqikMJIYbd', account_id: 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc', uid: '12345',
    } });
    const run = await connectThroughFake(t, integration.get('dropbox') ?? '');
    assert.equal(run.authorizeUrl.searchParams.get('token_access_type'), 'offline');
    const c = run.connection;
    assert.equal(c.hasRefreshToken, true);
    assert.equal(c.providerValues.account_id, 'dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc');
    assert.equal(Date.parse(c.accessTokenExpiresAt) - t.clock.now(), 4 * HOUR);
    assert.match(String(fake.tokenRequests().at(-1)?.headers.authorization), /^Basic /);
  });

  const notionOwner = { type: 'user', user: { object: 'user', id: '8d7f2b4c-4b4e-4d2c-9d1f-3f1a2b3c4d5e', name: 'Alice', avatar_url: null, type: 'person', person: { email: 'alice@example.com' } } };
  const notionBase = { token_type: 'bearer', bot_id: 'b7e1c2d3-0000-4000-8000-000000000001', workspace_name: 'Acme', workspace_icon: null, workspace_id: 'e2f3a4b5-0000-4000-8000-000000000002', owner: notionOwner, duplicated_template_id: null, request_id: 'a1b2c3' };

  test('Notion without refresh tokens: JSON token request with Basic auth; the token never expires and is never marked needs_reauth', async () => {
    answer = () => ({ json: { ...notionBase, access_token: 'secret_notion_never_expires' } });
    const run = await connectThroughFake(t, integration.get('notion') ?? '');
    assert.equal(run.authorizeUrl.searchParams.get('owner'), 'user');
    const sent = fake.tokenRequests().at(-1);
    assert.match(String(sent?.headers['content-type']), /^application\/json/);
    const body = JSON.parse(sent?.raw ?? '{}') as Record<string, string>;
    assert.equal(body['grant_type'], 'authorization_code');
    assert.match(body['code'] ?? '', /^code-/);
    assert.ok(body['redirect_uri']?.endsWith(`/oauth/callback/${integration.get('notion')}`));
    assert.match(String(sent?.headers.authorization), /^Basic /);
    const c = run.connection;
    assert.equal(c.hasRefreshToken, false);
    assert.equal(c.accessTokenExpiresAt, null);
    assert.equal(c.statusReason, null);
    assert.deepEqual(c.providerValues, { workspace_id: notionBase.workspace_id, bot_id: notionBase.bot_id });
    assert.deepEqual(c.account, { issuer: 'fake-notion', subject: notionOwner.user.id, label: 'alice@example.com' });
    t.clock.advance(YEAR);
    const res = await t.api('GET', `/v1/connections/${c.id}/token`);
    assert.equal(res.status, 200);
    assert.equal((await t.api('GET', `/v1/connections/${c.id}`)).body.status, 'active');
  });

  test('Notion with refresh tokens: the refresh is sent as JSON and the new refresh token replaces the old one', async () => {
    answer = (req) => ({ json: { ...notionBase, access_token: `ntn_access_${++n}`, refresh_token: `nrt_${n}`, expires_in: 3600 } });
    const run = await connectThroughFake(t, integration.get('notion') ?? '');
    const first = `nrt_${n}`;
    assert.equal(run.connection.hasRefreshToken, true);
    t.clock.advance(HOUR);
    assert.equal((await t.api('GET', `/v1/connections/${run.connection.id}/token`)).status, 200);
    const second = `nrt_${n}`;
    t.clock.advance(HOUR);
    assert.equal((await t.api('GET', `/v1/connections/${run.connection.id}/token`)).status, 200);
    const refreshes = fake.tokenRequests().slice(-2).map((r) => JSON.parse(r.raw) as Record<string, string>);
    assert.deepEqual(refreshes.map((b) => [b['grant_type'], b['refresh_token']]), [['refresh_token', first], ['refresh_token', second]]);
  });

  test('HubSpot: client_id and client_secret travel in the form body, on the code exchange and on refresh', async () => {
    answer = () => ({ json: { token_type: 'bearer', refresh_token: '6f18f21e-a743-4509-b7fd-1a5e632fffa1', access_token: `CN2zlYnmLBICAQIYgZXFLyCWp1Yo-${++n}`, expires_in: 1800 } });
    const run = await connectThroughFake(t, integration.get('hubspot') ?? '');
    t.clock.advance(30 * MIN);
    assert.equal((await t.api('GET', `/v1/connections/${run.connection.id}/token`)).status, 200);
    for (const sent of fake.tokenRequests().slice(-2)) {
      assert.equal(sent.form.get('client_id'), 'client-hubspot');
      assert.equal(sent.form.get('client_secret'), FAKE_CLIENT_SECRET);
      assert.equal(sent.headers.authorization, undefined);
    }
    assert.deepEqual(fake.tokenRequests().slice(-2).map((r) => r.form.get('grant_type')), ['authorization_code', 'refresh_token']);
  });

  test('Zoho: the region picks the accounts domain, api_domain is kept on Zoho\'s domains only, and an HTTP 200 invalid_code turns the connection needs_reauth', async () => {
    let apiDomain = 'https://www.zohoapis.eu';
    let refreshDead = false;
    answer = (req) => req.form.get('grant_type') === 'refresh_token' && refreshDead
      ? { status: 200, json: { error: 'invalid_code' } }
      : { json: { access_token: `1000.zoho-access-${++n}`, refresh_token: '1000.zoho-refresh', api_domain: apiDomain, token_type: 'Bearer', expires_in: 3600 } };
    const run = await connectThroughFake(t, integration.get('zoho') ?? '', { params: { region: 'eu' } });
    assert.equal(run.authorizeUrl.pathname, '/accounts.zoho.eu/oauth/v2/auth');
    assert.equal(run.authorizeUrl.searchParams.get('access_type'), 'offline');
    assert.equal(run.connection.providerValues.api_domain, 'https://www.zohoapis.eu');
    refreshDead = true;
    t.clock.advance(HOUR);
    assert.equal((await t.api('GET', `/v1/connections/${run.connection.id}/token`)).status, 409);
    assert.equal((await t.api('GET', `/v1/connections/${run.connection.id}`)).body.status, 'needs_reauth');
    apiDomain = 'https://zohoapis.eu.evil.example';
    const refused = await connectThroughFake(t, integration.get('zoho') ?? '', { params: { region: 'eu' } });
    assert.equal(refused.connection, null);
  });
});
