import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDefinition } from '../src/catalog/index.ts';
import { type TestKeyway, startTestKeyway } from './helpers/keyway.ts';

const API_KEY = 'cr-live-key-7d1f0c9a2b4e6f8a0c2e4a6b';
const QUERY_KEY = 'query-key-0b1c2d3e4f5a6b7c8d9e0f1a';
const USERNAME = 'AC0123456789abcdef0123456789abcd';
const PASSWORD = 'basic-pass-9f8e7d6c5b4a3f2e1d0c9b8a';

/** An API on 127.0.0.1 that records what each call brought. */
interface Seen { path: string; headers: IncomingHttpHeaders }

describe('API-key and Basic connections: stored in the vault, injected where the definition says', () => {
  let t: TestKeyway;
  let api: Server;
  let apiUrl: string;
  const seen: Seen[] = [];
  const integrations: Record<string, string> = {};

  before(async () => {
    api = createServer((req, res) => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    // The built-in CallRail and Twilio definitions, pointed at the local API.
    const local = (id: string, overrides: Record<string, unknown>) => parseDefinition({ id, name: id, grants: [], ...overrides }, 'test');
    t = await startTestKeyway({
      extraDefinitions: [
        local('callrail-local', { credential: 'api_key', api: { baseUrls: [`${apiUrl}/v3`], inject: { in: 'header', name: 'Authorization', prefix: 'Token token=' } } }),
        local('query-key-local', { credential: 'api_key', api: { baseUrls: [`${apiUrl}/api`], inject: { in: 'query', name: 'api_key' } } }),
        local('twilio-local', { credential: 'basic', api: { baseUrls: [`${apiUrl}/2010-04-01`], inject: { in: 'header', name: 'Authorization', prefix: 'Basic ' } } }),
      ],
    });
    for (const p of ['callrail-local', 'query-key-local', 'twilio-local', 'callrail', 'twilio']) {
      const res = await t.api('POST', '/v1/integrations', { provider: p });
      assert.equal(res.status, 201, `${p}: ${JSON.stringify(res.body)}`);
      integrations[p] = res.body.id;
    }
  });
  after(async () => {
    await t.close();
    await new Promise((r) => api.close(r));
  });

  const last = () => seen[seen.length - 1]!;
  const proxy = (id: string, path: string) => fetch(`${t.kw.url}/v1/proxy/${id}${path}`, { headers: { authorization: `Bearer ${t.apiKey}` } });

  test('the CallRail and Twilio definitions say how they take their credential', async () => {
    const cr = (await t.api('GET', '/v1/providers/callrail')).body;
    assert.equal(cr.credential, 'api_key');
    assert.deepEqual(cr.apiBaseUrls, ['https://api.callrail.com/v3']);
    const tw = (await t.api('GET', '/v1/providers/twilio')).body;
    assert.equal(tw.credential, 'basic');
  });

  test('an API key goes in the Authorization header with CallRail\'s "Token token=" prefix, and is never shown', async () => {
    const res = await t.api('POST', '/v1/connections', { integration: integrations['callrail-local'], type: 'api_key', apiKey: API_KEY, name: 'CallRail main' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.type, 'api_key');
    assert.equal(res.body.status, 'active');
    assert.equal(JSON.stringify(res.body).includes(API_KEY), false);
    const call = await proxy(res.body.id, '/a.json?page=2');
    assert.equal(call.status, 200);
    assert.equal(last().path, '/v3/a.json?page=2');
    assert.equal(last().headers.authorization, `Token token=${API_KEY}`);
    // What the gateway gets from the token service: the stored key itself.
    const use = await t.kw.services.tokens.use(t.kw.orgId, res.body.id, { type: 'system', id: null }, { audit: false });
    assert.equal(use.connection.kind, 'api_key');
    assert.equal(use.token.accessToken, API_KEY);
  });

  test('an API key the definition puts in the query goes there, not in a header', async () => {
    const res = await t.api('POST', '/v1/connections', { integration: integrations['query-key-local'], type: 'api_key', apiKey: QUERY_KEY });
    assert.equal(res.status, 201);
    assert.equal((await proxy(res.body.id, '/things?limit=5')).status, 200);
    assert.equal(last().path, `/api/things?limit=5&api_key=${QUERY_KEY}`);
    assert.equal(last().headers.authorization, undefined);
  });

  test('Basic sends base64(username:password) in the Authorization header (RFC 7617)', async () => {
    const res = await t.api('POST', '/v1/connections', { integration: integrations['twilio-local'], type: 'basic', username: USERNAME, password: PASSWORD });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.type, 'basic');
    assert.equal(JSON.stringify(res.body).includes(PASSWORD), false);
    assert.equal(JSON.stringify(res.body).includes(USERNAME), false);
    assert.equal((await proxy(res.body.id, `/Accounts/${'AC1'}/Messages.json`)).status, 200);
    assert.equal(last().headers.authorization, `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`);
  });

  test('the token route never hands out an API key or a password', async () => {
    for (const [integration, body] of [
      [integrations['callrail'], { type: 'api_key', apiKey: API_KEY }],
      [integrations['twilio'], { type: 'basic', username: USERNAME, password: PASSWORD }],
    ] as const) {
      const c = (await t.api('POST', '/v1/connections', { integration, ...body })).body;
      const res = await t.api('GET', `/v1/connections/${c.id}/token`);
      assert.equal(res.status, 400);
      assert.match(res.body.error.message, /never hands out.*\/v1\/proxy\//);
      assert.equal(JSON.stringify(res.body).includes(API_KEY) || JSON.stringify(res.body).includes(PASSWORD), false);
      assert.equal((await t.api('POST', `/v1/connections/${c.id}/reauthorize`)).status, 400);
    }
  });

  test('the credential must be the kind the definition takes', async () => {
    const wrongKind = await t.api('POST', '/v1/connections', { integration: integrations['twilio'], type: 'api_key', apiKey: API_KEY });
    assert.equal(wrongKind.status, 400);
    assert.match(wrongKind.body.error.message, /Twilio takes a user name and password/);
    const missing = await t.api('POST', '/v1/connections', { integration: integrations['callrail'], type: 'api_key' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /apiKey/);
    const colon = await t.api('POST', '/v1/connections', { integration: integrations['twilio'], type: 'basic', username: 'a:b', password: PASSWORD });
    assert.equal(colon.status, 400);
    assert.match(colon.body.error.message, /cannot contain ":"/);
    const oauthOnly = await t.api('POST', '/v1/integrations', { provider: 'github', clientId: 'Iv1.x', clientSecret: 'y' });
    const onOAuth = await t.api('POST', '/v1/connections', { integration: oauthOnly.body.id, type: 'api_key', apiKey: API_KEY });
    assert.equal(onOAuth.status, 400);
    assert.match(onOAuth.body.error.message, /GitHub uses OAuth/);
    const noClient = await t.api('POST', '/v1/integrations', { provider: 'github' });
    assert.equal(noClient.status, 400);
    assert.match(noClient.body.error.message, /clientId/);
  });

  test('disconnecting deletes the key and says it still works at the provider until deleted there', async () => {
    const c = (await t.api('POST', '/v1/connections', { integration: integrations['callrail'], type: 'api_key', apiKey: API_KEY })).body;
    const res = await fetch(`${t.kw.url}/v1/connections/${c.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(res.status, 204);
    assert.match(res.headers.get('keyway-hint') ?? '', /still works at CallRail until you delete or rotate it there/);
    assert.equal((await t.api('GET', `/v1/connections/${c.id}`)).status, 404);
  });

  test('no key or password in the database file, the logs or the audit log', async () => {
    await t.kw.services.audit.flush();
    const audit = JSON.stringify((await t.api('GET', '/v1/audit?limit=200')).body);
    const basic = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('keyway.db'));
    assert.ok(files.length > 0);
    for (const secret of [API_KEY, QUERY_KEY, PASSWORD, basic]) {
      for (const f of files) assert.equal(readFileSync(join(t.dataDir, f)).includes(Buffer.from(secret)), false, `secret in ${f}`);
      assert.equal(t.logs.text().includes(secret), false, 'secret in logs');
      assert.equal(audit.includes(secret), false, 'secret in audit');
    }
  });
});
