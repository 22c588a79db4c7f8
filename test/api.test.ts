import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

describe('REST API conventions and validation', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let liar: Server;
  let liarUrl: string;

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway({ sandbox: true });
    // An authorization server whose metadata names a different issuer (a mix-up attempt).
    liar = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: 'https://someone-else.example', authorization_endpoint: 'https://someone-else.example/auth', token_endpoint: 'https://someone-else.example/token' }));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    liarUrl = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
  });
  after(async () => {
    await t.close();
    await provider.close();
    await new Promise((r) => liar.close(r));
  });

  test('every API call without a key is refused with a code, a message and the Keyway-Error header', async () => {
    for (const path of ['/v1/providers', '/v1/integrations', '/v1/connections', '/v1/audit']) {
      const res = await t.api('GET', path, undefined, 'kw_wrong');
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('keyway-error'), 'unauthorized');
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.body.error.message, /keyway keys create/);
    }
    const none = await fetch(`${t.kw.url}/v1/integrations`);
    const body = await none.json() as { error: { message: string } };
    assert.equal(none.status, 401);
    assert.match(body.error.message, /sign in with a link from `npx keyway login-link`/, 'without single sign-on, the way a person can sign in');
    assert.doesNotMatch(body.error.message, /\/auth\/login/);
  });

  test('the catalog lists the sandbox, GitHub and custom', async () => {
    const res = await t.api('GET', '/v1/providers');
    assert.equal(res.status, 200);
    const ids = res.body.data.map((p: { id: string }) => p.id);
    for (const id of ['sandbox', 'github', 'custom']) assert.ok(ids.includes(id), id);
    assert.equal(res.body.nextCursor, null);
    const gh = await t.api('GET', '/v1/providers/github');
    assert.deepEqual(gh.body.apiBaseUrls, ['https://api.github.com']);
    assert.equal((await t.api('GET', '/v1/providers/nope')).status, 404);
  });

  test('the sandbox integration exists on first start with its redirect URI', async () => {
    const res = await t.api('GET', '/v1/integrations');
    const sandbox = res.body.data.find((i: { provider: string }) => i.provider === 'sandbox');
    assert.ok(sandbox);
    assert.equal(sandbox.redirectUri, `${t.kw.url}/oauth/callback/${sandbox.id}`);
  });

  test('a provider\'s name where an integration id belongs gets a 404 that says integrations go by id and where to find them', async () => {
    for (const [path, body] of [['/v1/connect-sessions', { integration: 'sandbox' }], ['/v1/connections', { integration: 'github', type: 'api_key', apiKey: 'k' }]] as const) {
      const res = await t.api('POST', path, body);
      assert.equal(res.status, 404, path);
      assert.match(res.body.error.message, /named by their id \(int_…\), not their provider; GET \/v1\/integrations lists them/, path);
    }
    const byId = await t.api('POST', '/v1/connect-sessions', { integration: 'int_gone' });
    assert.equal(byId.body.error.message, 'No integration int_gone.');
  });

  test('a custom provider needs endpoints or an issuer, and says so', async () => {
    const res = await t.api('POST', '/v1/integrations', { provider: 'custom', clientId: 'x' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_request');
    assert.match(res.body.error.message, /"issuer".*"authorizationUrl" and "tokenUrl"/);
  });

  test('unknown fields and wrong types are refused naming the field', async () => {
    const res = await t.api('POST', '/v1/integrations', { provider: 'github', clientId: 'x', clientSecret: 's', colour: 'blue' });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /colour|Unrecognized/);
    const bad = await t.api('POST', '/v1/integrations', { provider: 'github', clientId: 42 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /clientId/);
    const misspelt = await t.api('POST', '/v1/connect-sessions', { integraton: 'int_x' });
    assert.equal(misspelt.status, 400);
    assert.match(misspelt.body.error.message, /^body: Unrecognized key: "integraton"; body field "integration": /, 'the misspelt key is named first, then the missing one');
    const query = await t.api('GET', '/v1/connections?foo=1');
    assert.match(query.body.error.message, /^query: Unrecognized key: "foo"\.$/);
    const notJson = await fetch(`${t.kw.url}/v1/integrations`, { method: 'POST', headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' }, body: '{oops' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.headers.get('keyway-error'), 'invalid_request');
  });

  test('discovery refuses an issuer whose metadata names another issuer', async () => {
    const res = await t.api('POST', '/v1/integrations', { provider: 'custom', clientId: 'x', clientSecret: 'y', issuer: liarUrl });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'discovery_failed');
    assert.match(res.body.error.message, /Check the issuer URL/);
  });

  test('URLs pointing at private or metadata addresses are refused by the outbound policy, even in development mode', async () => {
    for (const url of ['http://169.254.169.254/latest', 'https://10.0.0.5/token', 'https://[fd00::1]/auth']) {
      const res = await t.api('POST', '/v1/integrations', { provider: 'custom', clientId: 'x', authorizationUrl: url, tokenUrl: url });
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, 'outbound_url_refused', url);
    }
  });

  test('a custom integration can be deleted, but not while it has connections', async () => {
    const integration = await addIntegration(t, provider);
    const run = await connectInBrowser(t, provider, integration.id, { session: { externalId: 'keep' } });
    assert.match(run.page.text, /Connected!/);
    const refused = await t.api('DELETE', `/v1/integrations/${integration.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /disconnect them first, or delete it with \?force=true/);
    const conn = (await t.api('GET', `/v1/connections?integration=${integration.id}`)).body.data[0];
    assert.equal((await t.api('DELETE', `/v1/connections/${conn.id}`)).status, 204);
    assert.equal((await t.api('DELETE', `/v1/integrations/${integration.id}`)).status, 204);
    assert.equal((await t.api('GET', `/v1/integrations/${integration.id}`)).status, 404);
  });

  test('lists page with limit and cursor, newest first, every row once', async () => {
    const integration = await addIntegration(t, provider);
    for (let i = 0; i < 5; i++) {
      const run = await connectInBrowser(t, provider, integration.id, { username: `pager${i}` });
      assert.match(run.page.text, /Connected!/);
      t.clock.advance(1000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.api('GET', `/v1/connections?integration=${integration.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(res.body.data.length <= 2);
      seen.push(...res.body.data.map((c: { id: string; createdAt: string }) => c.createdAt));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 5);
    const bad = await t.api('GET', '/v1/connections?cursor=garbage');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /pass nextCursor from the previous page unchanged/);
    assert.deepEqual(seen, [...seen].sort().reverse());
  });

  test('the audit log filters by connection and action', async () => {
    const integration = await addIntegration(t, provider);
    const run = await connectInBrowser(t, provider, integration.id, { session: { externalId: 'audited' } });
    assert.match(run.page.text, /Connected!/);
    const id = (await t.api('GET', '/v1/connections?externalId=audited')).body.data[0].id;
    await t.api('GET', `/v1/connections/${id}/token`);
    t.clock.advance(40);
    await t.api('GET', `/v1/connections/${id}/token`);
    const reads = await t.api('GET', `/v1/audit?connection=${id}&action=token.read`);
    // Two reads by one key within a second: one entry that counts both and says when the second was.
    assert.equal(reads.body.data.length, 1);
    const [e] = reads.body.data;
    assert.equal(e.connection, id);
    assert.equal(e.actor.type, 'api_key');
    assert.ok(Date.parse(e.at));
    assert.equal(e.detail.count, 2);
    assert.deepEqual(e.detail.laterMs, [40]);
    const byIntegration = await t.api('GET', `/v1/audit?integration=${integration.id}`);
    const actions = byIntegration.body.data.map((e: { action: string }) => e.action);
    assert.equal(actions[0], 'token.read'); // newest first
    assert.ok(actions.includes('connection.create') && actions.includes('integration.create'));
    const typo = await t.api('GET', '/v1/audit?action=token.reed');
    assert.equal(typo.status, 400, 'a misspelt action is refused, not answered with an empty page');
    assert.match(typo.body.error.message, /action/);
    assert.match(typo.body.error.message, /token\.read/, 'the message lists the actions');
  });

  test('/healthz answers and /openapi.json describes every route with its input schema', async () => {
    assert.deepEqual((await (await fetch(`${t.kw.url}/healthz`)).json()), { ok: true });
    const doc = await (await fetch(`${t.kw.url}/openapi.json`)).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const [path, method] of [
      ['/v1/providers', 'get'], ['/v1/integrations', 'post'], ['/v1/integrations/{id}', 'delete'], ['/v1/connect-sessions', 'post'],
      ['/v1/connect-sessions/{id}', 'get'], ['/v1/connections', 'get'], ['/v1/connections/{id}', 'delete'],
      ['/v1/connections/{id}/token', 'get'], ['/v1/connections/{id}/refresh', 'post'], ['/v1/audit', 'get'],
    ] as const) {
      assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
    }
    const body = doc.paths['/v1/integrations'].post.requestBody.content['application/json'].schema;
    assert.ok(body.properties.clientSecret && body.required.includes('provider'));
    const params = doc.paths['/v1/connections'].get.parameters.map((p: { name: string }) => p.name);
    for (const p of ['integration', 'status', 'externalId', 'limit', 'cursor']) assert.ok(params.includes(p), p);
  });
});
