import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { newId } from '../src/core/ids.ts';
import { cryptoRandom } from '../src/core/random.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';
import { type Upstream, echo, rawRequest, startUpstream } from './helpers/upstream.ts';

async function connect(t: TestKeyway, provider: SandboxServer, integration: string, username: string): Promise<string> {
  const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
  assert.match(run.page.text, /Connected!/, run.page.text);
  return (await t.api('GET', `/v1/connections?externalId=${username}&integration=${integration}`)).body.data[0].id;
}

/** The provider's own revocation of one access token (its refresh token stays good). */
async function revokeAccessToken(provider: SandboxServer, token: string): Promise<void> {
  const at = await provider.sandbox.provider.AccessToken.find(token);
  assert.ok(at, 'the access token exists at the provider');
  await at.destroy();
}

describe('gateway: forwarding to the provider API', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let upstream: Upstream;
  let elsewhere: Upstream;
  let conn: string;
  let token: string;
  const proxy = (path: string, init: RequestInit = {}) => fetch(`${t.kw.url}/v1/proxy/${conn}${path}`, {
    ...init, redirect: 'manual', headers: { authorization: `Bearer ${t.apiKey}`, ...(init.headers as Record<string, string> | undefined) },
  });

  before(async () => {
    provider = await startProvider();
    upstream = await startUpstream();
    elsewhere = await startUpstream();
    t = await startTestKeyway();
    const integration = await addIntegration(t, provider, { apiBaseUrl: `${upstream.url}/api/v3` });
    conn = await connect(t, provider, integration.id, 'alice');
    token = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
  });
  after(async () => {
    await t.close();
    await provider.close();
    await upstream.close();
    await elsewhere.close();
  });

  test('a call reaches the API base URL with the token injected, its path, query and headers as sent, and never the caller\'s API key', async () => {
    upstream.handle(echo);
    const res = await proxy('/users/group%2Fproject/items?limit=5&q=a%20b&empty=', {
      headers: { 'x-request-id': 'abc-123', accept: 'application/json', 'keyway-note': 'not for the provider', cookie: 'session=1' },
    });
    assert.equal(res.status, 200);
    const seen = await res.json() as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/api/v3/users/group%2Fproject/items?limit=5&q=a%20b&empty=');
    assert.equal(seen.headers['authorization'], `Bearer ${token}`);
    assert.equal(seen.headers['x-request-id'], 'abc-123');
    assert.equal(seen.headers['accept'], 'application/json');
    assert.equal(seen.headers['cookie'], 'session=1');
    assert.equal(seen.headers['host'], new URL(upstream.url).host);
    assert.equal(seen.headers['keyway-note'], undefined);
    const everything = JSON.stringify(upstream.seen.at(-1)?.rawHeaders);
    assert.ok(!everything.includes(t.apiKey), 'the caller\'s API key never reaches the provider');
  });

  test('Keyway\'s own cookies (the dashboard session, the connect binding) never reach the provider; the caller\'s others do', async () => {
    upstream.handle(echo);
    for (const [sent, forwarded] of [
      ['keyway_session=s3cr3t-session; theirs=1', 'theirs=1'],
      ['a=1; __Host-keyway_session=s3cr3t-session;b=2', 'a=1; b=2'],
      ['kw_ca_abc=binding-s3cr3t', undefined],
      ['mykeyway_thing=kept', 'mykeyway_thing=kept'],
    ] as const) {
      const res = await proxy('/items', { headers: { cookie: sent } });
      const seen = await res.json() as { headers: Record<string, string> };
      assert.equal(seen.headers['cookie'], forwarded, sent);
    }
    assert.ok(!JSON.stringify(upstream.seen.map((r) => r.rawHeaders)).includes('s3cr3t'));
  });

  test('every method is forwarded with its body, and the provider\'s status, headers and body come back as they are', async () => {
    upstream.handle(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json', 'x-provider': 'yes', 'set-cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] ?? null }));
    });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await proxy('/things/1', { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: method }) });
      assert.equal(res.status, method === 'POST' ? 201 : 200);
      assert.equal(res.headers.get('x-provider'), 'yes');
      assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
      assert.deepEqual(await res.json(), { method, body: JSON.stringify({ n: method }), type: 'application/json' });
    }
    const head = await proxy('/things/1', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-provider'), 'yes');
  });

  test('an upload sent with Expect: 100-continue (as curl sends a large one) is told to go on and reaches the provider whole', async () => {
    upstream.handle(async (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const c of req) { hash.update(c as Buffer); bytes += (c as Buffer).length; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex'), expect: req.headers['expect'] ?? null }));
    });
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const answer = await new Promise<{ status: number; continued: boolean; json: { bytes: number; sha256: string; expect: string | null } }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(`${t.kw.url}/v1/proxy/${conn}/uploads`, {
        method: 'PUT', headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/octet-stream', 'content-length': String(body.length), expect: '100-continue' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, json: JSON.parse(text) }));
      });
      req.on('continue', () => { continued = true; req.end(body); });
      req.on('error', reject);
    });
    assert.equal(answer.status, 200);
    assert.ok(answer.continued, 'Keyway answered 100 Continue');
    assert.equal(answer.json.bytes, body.length);
    assert.equal(answer.json.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(answer.json.expect, null, 'the expectation was met by Keyway, not passed on');
  });

  test('paths that would leave the API base are refused with a 400 that says why, and nothing is sent to the provider', async () => {
    upstream.handle(echo);
    const attempts = [
      '/../secret', '/a/../../secret', '/%2e%2e/secret', '/%2E%2E%2Fsecret', '/..%2f..%2fadmin', '/a/..\\..\\secret',
      '/%5c..%5c..%5csecret', '/..;/secret', '//evil.example/x', '/%2F%2Fevil.example/x', '/\\evil.example/x',
      '/https://evil.example/x', '/http:%2F%2Fevil.example', '/javascript:alert(1)', '/user:password@evil.example/x',
    ];
    const before = upstream.seen.length;
    for (const path of attempts) {
      const res = await rawRequest(t.kw.url, `/v1/proxy/${conn}${path}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(res.status, 400, path);
      assert.equal(res.headers['keyway-error'], 'invalid_request', path);
      const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
      assert.match(body.error.message, /Refused to forward this path/, path);
    }
    assert.equal(upstream.seen.length, before, 'no request reached the provider');
    assert.equal(elsewhere.seen.length, 0);
  });

  test('paths that stay below the base are forwarded exactly as written', async () => {
    upstream.handle(echo);
    for (const path of ['/a/../b', '/users/alice@example.com', '/projects:search', '/files/%2e%2e.txt/..x', '/v1/spreadsheets/x/values/Sheet1!A1:B2']) {
      const res = await rawRequest(t.kw.url, `/v1/proxy/${conn}${path}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(res.status, 200, path);
      assert.equal(JSON.parse(res.body.toString()).url, `/api/v3${path}`, path);
    }
  });

  test('a redirect from the provider goes back to the caller as it is, and is not followed', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/download/file.bin?sig=xyz` });
      res.end();
    });
    const res = await proxy('/files/1/content');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${elsewhere.url}/download/file.bin?sig=xyz`);
    assert.equal(elsewhere.seen.length, 0, 'Keyway fetched nothing on the provider\'s say-so');
  });

  test('a 403 naming a missing scope in the provider\'s body comes back untouched with a Keyway-Hint to re-authenticate', async () => {
    const body = JSON.stringify({ ok: false, error: 'missing_scope', needed: 'chat:write' });
    upstream.handle((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(body);
    });
    const res = await proxy('/chat.postMessage', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 403);
    assert.equal(await res.text(), body);
    assert.match(res.headers.get('keyway-hint') ?? '', /"chat:write".*Re-authenticate/);
    assert.equal(res.headers.get('keyway-error'), null);
  });

  test('a compressed 403 scope error (the caller asked for gzip or br, as fetch does) gets the hint too, and comes back still compressed', async () => {
    const body = JSON.stringify({ error: 'insufficient_scope', scope: 'items:write' });
    for (const [encoding, packed] of [['gzip', gzipSync(body)], ['br', brotliCompressSync(body)], ['deflate', deflateSync(body)]] as const) {
      upstream.handle((_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json', 'content-encoding': encoding });
        res.end(packed);
      });
      const res = await proxy('/items', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('content-encoding'), encoding, 'passed on as the provider sent it');
      assert.equal(await res.text(), body, `${encoding}: decoded by the caller, the provider's body`);
      assert.match(res.headers.get('keyway-hint') ?? '', /"items:write".*Re-authenticate/, encoding);
    }
  });

  test('a 401 with a large body (an 80 KB HTML page) still causes the refresh and the retry; when the retry cannot be made, the 401 comes back with the hint and no body', async () => {
    const page = `<html><body>${'Unauthorized. '.repeat(6000)}</body></html>`;
    const rejected = token;
    upstream.handle((req, res) => {
      if (req.headers.authorization === `Bearer ${rejected}`) {
        res.writeHead(401, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(page)) });
        res.end(page);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
    const res = await proxy('/me');
    assert.equal(res.status, 200, 'refreshed and retried');
    assert.deepEqual(await res.json(), { ok: true });
    token = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    assert.notEqual(token, rejected, 'a new token was stored');

    // A streamed upload cannot be replayed: the 401 goes back with the hint, its 80 KB page left out.
    const current = token;
    upstream.handle((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(page)) });
      res.end(page);
    });
    const upload = await proxy('/upload', { method: 'POST', body: new Blob(['x'.repeat(100_000)]).stream(), duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit);
    assert.equal(upload.status, 401);
    assert.match(upload.headers.get('keyway-hint') ?? '', /refreshed it but did not replay this request.*Send the request again/);
    assert.equal(await upload.text(), '');
    token = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    assert.notEqual(token, current);
    upstream.handle(echo);
  });

  test('API-key and Basic connections: the stored credential is injected, and a 401 comes back with a hint, without a refresh', async () => {
    // Seeded from the OAuth connection's row (the creation route needs a provider that takes such credentials).
    const { store, vault } = t.kw.services;
    const base = (await store.connections.get(t.kw.orgId, conn))!;
    const seeded: Record<string, string> = {};
    for (const [kind, secret] of [['api_key', 'cr-key-8a1f'], ['basic', 'AC123:tw-secret']] as const) {
      const id = newId('connection', cryptoRandom);
      await store.connections.insert({
        ...base, id, kind, name: kind, externalId: null, refreshTokenEnc: null, expiresAt: null, tokenVersion: 1, tokenType: kind,
        accessTokenEnc: await vault.encrypt({ orgId: base.orgId, recordId: id, field: 'access_token' }, secret),
      });
      seeded[kind] = id;
    }
    upstream.handle(echo);
    const viaKey = await fetch(`${t.kw.url}/v1/proxy/${seeded['api_key']}/calls.json`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal((await viaKey.json() as { headers: Record<string, string> }).headers['authorization'], 'Bearer cr-key-8a1f');
    const viaBasic = await fetch(`${t.kw.url}/v1/proxy/${seeded['basic']}/Accounts.json`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal((await viaBasic.json() as { headers: Record<string, string> }).headers['authorization'], `Basic ${Buffer.from('AC123:tw-secret').toString('base64')}`);

    upstream.handle((_req, res) => { res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad key"}'); });
    const refused = await fetch(`${t.kw.url}/v1/proxy/${seeded['api_key']}/calls.json`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(refused.status, 401);
    assert.equal(await refused.text(), '{"error":"bad key"}');
    assert.match(refused.headers.get('keyway-hint') ?? '', /rejected the stored credential/);
    assert.equal((await t.api('GET', `/v1/connections/${seeded['api_key']}`)).body.status, 'active');
    for (const s of ['cr-key-8a1f', 'tw-secret']) assert.ok(!t.logs.text().includes(s));
  });

  test('an unknown connection, or no API key, is refused before anything is sent', async () => {
    const before = upstream.seen.length;
    const missing = await fetch(`${t.kw.url}/v1/proxy/conn_nope/x`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('keyway-error'), 'not_found');
    const anonymous = await fetch(`${t.kw.url}/v1/proxy/${conn}/x`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('keyway-error'), 'unauthorized');
    assert.equal(upstream.seen.length, before);
  });

  test('every proxied call is audited with method, path, parameter names, status and duration — no header value, no query value', async () => {
    upstream.handle(echo);
    await (await proxy('/audited/path?secret_value=hunter2&page=2', { headers: { 'x-private': 'do-not-log' } })).text();
    const res = await t.api('GET', `/v1/audit?action=proxy.call&connection=${conn}`);
    assert.equal(res.status, 200);
    const entry = res.body.data.find((e: { detail: { path: string } }) => e.detail.path === '/audited/path');
    assert.ok(entry, JSON.stringify(res.body.data));
    assert.equal(entry.actor.type, 'api_key');
    assert.equal(entry.outcome, 'ok');
    assert.equal(entry.detail.method, 'GET');
    assert.deepEqual(entry.detail.query, ['secret_value', 'page']);
    assert.equal(entry.detail.status, 200);
    assert.equal(typeof entry.detail.durationMs, 'number');
    const all = JSON.stringify(res.body);
    for (const s of ['hunter2', 'do-not-log', token, t.apiKey]) assert.ok(!all.includes(s), s);
  });

  test('proxied calls are logged (at debug) by method, path and status; no token, API key, header or query value reaches the logs', async () => {
    const logs = t.logs.text();
    const line = t.logs.lines.find((l) => l.includes('"proxy call"') && l.includes('/audited/path'));
    assert.ok(line, 'the audited call is in the debug log');
    assert.match(line, /"status":200/);
    for (const s of [token, t.apiKey, 'hunter2', 'do-not-log']) assert.ok(!logs.includes(s));
  });

  test('token reads and calls refused at the API key check are logged too (at debug), by status and code only', async () => {
    const read = await fetch(`${t.kw.url}/v1/connections/${conn}/token`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(read.status, 200);
    await read.arrayBuffer();
    const missing = await fetch(`${t.kw.url}/v1/connections/conn_not_there/token`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(missing.status, 404);
    const badKey = 'kw_live_not-a-real-key-0123456789';
    const refused = await fetch(`${t.kw.url}/v1/proxy/${conn}/items`, { headers: { authorization: `Bearer ${badKey}` } });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    const lines = t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l['msg'] === 'token read' && l['connection'] === conn && l['status'] === 200), 'the token read');
    assert.ok(lines.some((l) => l['msg'] === 'token read' && l['connection'] === 'conn_not_there' && l['status'] === 404 && l['code'] === 'not_found'), 'the refused read');
    assert.ok(lines.some((l) => l['msg'] === 'proxy call refused' && l['status'] === 401 && l['code'] === 'unauthorized'), 'the call with a bad key');
    const logs = t.logs.text();
    for (const s of [token, t.apiKey, badKey]) assert.ok(!logs.includes(s));
  });

  test('a refused call\'s debug line names its error code; refusals are not logged as errors, and its stack never reaches the error level', async () => {
    const escape = await fetch(`${t.kw.url}/v1/proxy/${conn}/a/..%2F..%2Foutside`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.equal(escape.status, 400);
    await escape.arrayBuffer();
    const unknown = await t.api('GET', '/v1/connections/conn_not_there');
    assert.equal(unknown.status, 404);
    const lines = t.logs.lines.map((l) => JSON.parse(l) as { msg?: string; level?: number; detail?: Record<string, unknown>; err?: { code?: unknown } });
    const call = lines.find((l) => l.msg === 'proxy call' && String(l.detail?.['path']).endsWith('outside'));
    assert.equal(call?.detail?.['code'], 'invalid_request', 'the reason is readable, not redacted');
    assert.ok(!lines.some((l) => (l.level ?? 0) >= 50 && l.msg === 'request failed'), 'no client error is logged as an error');
    const refused = lines.find((l) => l.msg === 'request refused' && l.err?.code === 'not_found');
    assert.ok(refused, 'the 404 is told at debug with its code');
  });
});

describe('gateway: a token the provider rejects', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  const refreshes = () => provider.sandbox.stats.tokenRequests['refresh_token'] ?? 0;

  before(async () => {
    provider = await startProvider({ rotateRefreshTokens: true });
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider, { apiBaseUrl: `${provider.issuer}/api`, scopes: ['openid', 'profile', 'offline_access', 'items:read'] })).id;
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  const call = (conn: string, path: string, init: RequestInit = {}) => fetch(`${t.kw.url}/v1/proxy/${conn}${path}`, {
    ...init, headers: { authorization: `Bearer ${t.apiKey}`, ...(init.headers as Record<string, string> | undefined) },
  });

  test('a provider 401 causes one refresh and one retry, and the caller gets the answer', async () => {
    const conn = await connect(t, provider, integration, 'bob');
    const old = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    assert.equal((await call(conn, '/me')).status, 200);
    await revokeAccessToken(provider, old);
    const start = refreshes();
    const res = await call(conn, '/me');
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { sub: string }).sub, 'bob');
    assert.equal(refreshes() - start, 1);
    const now = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    assert.notEqual(now, old);
  });

  test('50 concurrent calls that all get a 401 cause exactly one refresh, and all succeed on the retry', async () => {
    const conn = await connect(t, provider, integration, 'carol');
    const old = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    assert.equal((await call(conn, '/me')).status, 200);
    await revokeAccessToken(provider, old);
    const start = refreshes();
    const results = await Promise.all(Array.from({ length: 50 }, () => call(conn, '/me').then(async (r) => ({ status: r.status, body: await r.text() }))));
    assert.deepEqual(results.filter((r) => r.status !== 200), []);
    assert.equal(refreshes() - start, 1);
    assert.equal((await t.api('GET', `/v1/connections/${conn}`)).body.status, 'active');
  });

  test('a 401 on a call whose body was streamed goes back with a Keyway-Hint; the token is refreshed for the next call', async () => {
    const conn = await connect(t, provider, integration, 'dave');
    const old = (await t.api('GET', `/v1/connections/${conn}/token`)).body.accessToken;
    await revokeAccessToken(provider, old);
    const big = Buffer.alloc(200 * 1024, 0x62);
    const start = refreshes();
    const res = await call(conn, '/echo', { method: 'POST', body: big, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('keyway-hint') ?? '', /refreshed.*Send the request again/);
    assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
    await res.text();
    assert.equal(refreshes() - start, 1);
    const again = await call(conn, '/echo', { method: 'POST', body: big, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(again.status, 200);
    assert.equal(Buffer.from(await again.arrayBuffer()).equals(big), true);
  });

  test('a 403 insufficient_scope comes back untouched with a Keyway-Hint naming the scope', async () => {
    const conn = await connect(t, provider, integration, 'erin');
    const res = await call(conn, '/items', { method: 'POST', body: JSON.stringify({ name: 'x' }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    assert.deepEqual(await res.json(), { error: 'insufficient_scope', scope: 'items:write' });
    const hint = res.headers.get('keyway-hint') ?? '';
    assert.match(hint, /"items:write"/);
    assert.match(hint, /Re-authenticate the connection and accept "items:write"/);
  });
});

test('at the default log level, calls the key check refuses and failed token reads are still answered, at once', async () => {
  // The hot paths log refusals only at debug; below it they must answer all the same (a log hook
  // that is off once swallowed the answer: the caller waited forever).
  const t = await startTestKeyway({ env: { KEYWAY_LOG_LEVEL: 'info' } });
  try {
    const get = (path: string, key: string) => fetch(`${t.kw.url}${path}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5000) });
    const unknownKey = await get('/v1/proxy/conn_x/items', 'kw_live_not-a-real-key-0123456789');
    assert.equal(unknownKey.status, 401);
    assert.equal(unknownKey.headers.get('keyway-error'), 'unauthorized');
    const limited = (await t.api('POST', '/v1/api-keys', { name: 'one a minute', rateLimitPerMinute: 1 })).body.key as string;
    assert.equal((await get('/v1/proxy/conn_x/items', limited)).status, 404); // the one call: no such connection
    const over = await get('/v1/proxy/conn_x/items', limited); // refused from memory, before any wait
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get('retry-after')) > 0);
    const missing = await get('/v1/connections/conn_x/token', t.apiKey);
    assert.equal(missing.status, 404);
  } finally {
    await t.close();
  }
});
