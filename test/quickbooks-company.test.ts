/**
 * QuickBooks names the company the person picked at consent in its redirect back to Keyway
 * (`realmId`), and every API path starts with it. Keyway keeps it with the connection (checked: a
 * number) and builds the gateway's base URL from it; replayed against a fake on 127.0.0.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';
import { FakeProvider, addFakeIntegration, connectThroughFake } from './helpers/fake-provider.ts';

const REALM = '9130350000000001';
const HOUR = 3_600_000;

describe('QuickBooks: the company from the consent redirect', () => {
  let t: TestKeyway;
  let fake: FakeProvider;
  let integration: string;
  let n = 0;

  before(async () => {
    t = await startTestKeyway();
    fake = await FakeProvider.start();
    fake.token = () => {
      n += 1;
      return { json: { token_type: 'bearer', expires_in: 3600, refresh_token: `qb-refresh-${n}`, x_refresh_token_expires_in: 8726400, access_token: `qb-access-${n}` } };
    };
    fake.api = (req) => ({ json: { path: req.path, authorization: req.headers.authorization ?? null } });
    integration = (await addFakeIntegration(t, fake, 'quickbooks')).id;
  });
  after(async () => {
    await t.close();
    await fake.close();
  });

  test('the realmId is kept, the gateway calls /v3/company/{realmId}/…, and a refresh keeps it', async () => {
    fake.callbackExtras = { realmId: REALM };
    const run = await connectThroughFake(t, integration);
    assert.equal(run.page.status, 200, run.page.text);
    const c = run.connection;
    assert.equal(c.providerValues.realm_id, REALM);

    const res = await fetch(`${t.kw.url}/v1/proxy/${c.id}/companyinfo/${REALM}?minorversion=75`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(res.status, 200);
    const seen = await res.json() as { path: string; authorization: string };
    assert.equal(seen.path, `/quickbooks.api.intuit.com/v3/company/${REALM}/companyinfo/${REALM}`);
    assert.match(seen.authorization, /^Bearer qb-access-\d+$/);

    t.clock.advance(HOUR); // expired: the next call refreshes first
    const again = await fetch(`${t.kw.url}/v1/proxy/${c.id}/companyinfo/${REALM}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { path: string }).path, `/quickbooks.api.intuit.com/v3/company/${REALM}/companyinfo/${REALM}`);
    const after = (await t.api('GET', `/v1/connections/${c.id}`)).body;
    assert.equal(after.providerValues.realm_id, REALM);
    assert.ok(fake.tokenRequests().some((r) => r.form.get('grant_type') === 'refresh_token'), 'the token was refreshed');
  });

  test('a realmId that is not a number is refused before the code is used, and nothing is stored', async () => {
    fake.callbackExtras = { realmId: '../../evil.example/x' };
    const before = fake.tokenRequests().length;
    const listed = (await t.api('GET', '/v1/connections')).body.data.length;
    const run = await connectThroughFake(t, integration);
    assert.notEqual(run.page.status, 200);
    assert.match(run.page.text, /QuickBooks Online \(fake\) sent a (&quot;|&#34;|")realmId(&quot;|&#34;|") that is not what it should be/);
    assert.match(run.page.text, /nothing was stored/);
    assert.equal(run.connection, null);
    assert.equal(run.session.status, 'failed');
    assert.equal(fake.tokenRequests().length, before, 'the code was never exchanged');
    assert.equal((await t.api('GET', '/v1/connections')).body.data.length, listed);
  });

  test('without a realmId (an older connection) a call says to reconnect rather than calling a wrong URL', async () => {
    fake.callbackExtras = {};
    const run = await connectThroughFake(t, integration);
    assert.equal(run.page.status, 200, run.page.text);
    const res = await fetch(`${t.kw.url}/v1/proxy/${run.connection.id}/companyinfo/1`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(res.status, 400);
    const body = await res.json() as { error: { message: string } };
    assert.match(body.error.message, /no value for \{realm_id\}.*reconnect it/);
  });
});
