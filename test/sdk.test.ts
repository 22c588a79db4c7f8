/**
 * The TypeScript SDK (src/sdk) against a real Keyway on 127.0.0.1: the sandbox authorization server
 * as the provider for the OAuth parts, a small local API for what the gateway passes through.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Keyway, KeywayApiError, KeywayUnreachableError, KeywayWaitTimeout } from 'keyway/sdk';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { CookieJar } from './helpers/browserless.ts';
import { type TestKeyway, addIntegration, freePort, startAndAuthorize, startProvider, startTestKeyway } from './helpers/keyway.ts';

describe('SDK: connecting, connections, the gateway, keys and the audit log (sandbox provider)', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  let keyway: Keyway;
  let conn: string;

  /** What a person does with a connect link: sign in and consent at the provider, land on Keyway's callback. */
  const consent = async (connectUrl: string, username: string): Promise<void> => {
    const jar = new CookieJar();
    const { callbackUrl } = await startAndAuthorize(connectUrl, provider, jar, { username });
    assert.equal((await jar.fetch(callbackUrl)).status, 200);
  };

  before(async () => {
    provider = await startProvider();
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider, { apiBaseUrl: `${provider.issuer}/api`, scopes: ['openid', 'profile', 'offline_access', 'items:read'] })).id;
    keyway = new Keyway({ url: t.kw.url, apiKey: t.apiKey });
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('connect: a session\'s link, the person consents, wait() returns the connected session and the connection is active', async () => {
    const started = await keyway.connectSessions.create({ integration, externalId: 'user-42', name: 'Alice at the sandbox' });
    assert.match(started.id, /^cs_/);
    assert.ok(started.connectUrl?.startsWith(t.kw.url));
    assert.equal((await keyway.connectSessions.get(started.id)).status, 'pending');
    const waiting = keyway.connectSessions.wait(started.id, { intervalMs: 100, timeoutMs: 20_000 });
    await consent(started.connectUrl ?? '', 'alice');
    const done = await waiting;
    assert.equal(done.status, 'connected');
    assert.match(done.connection ?? '', /^conn_/);
    conn = done.connection ?? '';
    const c = await keyway.connections.get(conn);
    assert.equal(c.status, 'active');
    assert.equal(c.externalId, 'user-42');
    assert.equal(c.hasRefreshToken, true);
    assert.equal(c.access.via, 'owner');
    const listed = await keyway.connections.list({ integration, externalId: 'user-42' });
    assert.deepEqual(listed.data.map((x) => x.id), [conn]);
    assert.equal(listed.nextCursor, null);
  });

  test('proxy: the provider\'s answer comes back as a Response, query and JSON bodies as given; the token never reaches the caller', async () => {
    const me = await keyway.proxy(conn, 'me');
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { sub: string }).sub, 'alice');
    const items = await keyway.proxy(conn, '/items', { query: { limit: 2, missing: undefined } });
    assert.equal(items.status, 200);
    const { accessToken } = await keyway.connections.token(conn);
    assert.ok(accessToken.length > 10);
    const echoed = await keyway.proxy(conn, 'echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hello: 'provider' }) });
    assert.equal(echoed.status, 200);
    assert.deepEqual(await echoed.json(), { hello: 'provider' });
    const audit = await keyway.audit.list({ connection: conn, action: 'proxy.call' });
    const paths = audit.data.map((e) => e.detail['path']);
    assert.ok(paths.includes('/me') && paths.includes('/items') && paths.includes('/echo'), JSON.stringify(paths));
    const items2 = audit.data.find((e) => e.detail['path'] === '/items');
    assert.deepEqual(items2?.detail['query'], ['limit']);
    assert.ok(!JSON.stringify(audit).includes(accessToken));
  });

  test('proxy: a streamed upload is sent as it comes and echoed back whole', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent === 16) return ctrl.close();
        sent++;
        ctrl.enqueue(chunk);
      },
    });
    const res = await keyway.proxy(conn, 'echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(res.status, 200);
    const back = new Uint8Array(await res.arrayBuffer());
    assert.equal(back.length, 16 * 64 * 1024);
    assert.ok(back.every((b) => b === 0x61));
  });

  test('proxy: a provider\'s 403 for a missing scope is returned, not thrown, with Keyway\'s hint', async () => {
    const res = await keyway.proxy(conn, 'items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { error: 'insufficient_scope', scope: 'items:write' });
    assert.match(res.headers.get('keyway-hint') ?? '', /accept "items:write"/);
  });

  test('proxy: Keyway\'s own refusals throw KeywayApiError with its code, message and status', async () => {
    const missing = await keyway.proxy('conn_doesnotexist', 'me').catch((e: unknown) => e);
    assert.ok(missing instanceof KeywayApiError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'not_found');
    assert.match(missing.message, /conn_doesnotexist/);
    const bad = await keyway.connections.get('conn_doesnotexist').catch((e: unknown) => e);
    assert.ok(bad instanceof KeywayApiError);
    assert.equal(bad.code, 'not_found');
    const invalid = await keyway.connectSessions.create({ integration, grant: 'password' as never }).catch((e: unknown) => e);
    assert.ok(invalid instanceof KeywayApiError);
    assert.equal(invalid.status, 400);
    assert.equal(invalid.code, 'invalid_request');
    assert.match(invalid.message, /OAuth 2\.1/);
  });

  test('all(): every connection, page after page, with the smallest page', async () => {
    const more: string[] = [];
    for (const name of ['bob', 'carol']) {
      const s = await keyway.connectSessions.create({ integration, externalId: name });
      await consent(s.connectUrl ?? '', name);
      const done = await keyway.connectSessions.wait(s.id, { intervalMs: 100, timeoutMs: 20_000 });
      more.push(done.connection ?? '');
    }
    const seen: string[] = [];
    for await (const c of keyway.connections.all({ integration, limit: 1 })) seen.push(c.id);
    assert.deepEqual([...seen].sort(), [conn, ...more].sort());
    assert.equal(new Set(seen).size, 3);
  });

  test('API keys: a key made with the SDK works at once, is listed without its secret, and once revoked is refused', async () => {
    const made = await keyway.apiKeys.create({ name: 'sdk app', scope: { integrations: [integration] }, rateLimitPerMinute: 0, expiresInDays: 30 });
    assert.match(made.key, /^kw_/);
    assert.equal(made.scope.tokenRead, false);
    assert.ok(made.expiresAt !== null);
    const app = new Keyway({ url: t.kw.url, apiKey: made.key });
    assert.equal((await app.proxy(conn, 'me')).status, 200);
    const readToken = await app.connections.token(conn).catch((e: unknown) => e);
    assert.ok(readToken instanceof KeywayApiError);
    assert.equal(readToken.code, 'forbidden');
    const listed = await keyway.apiKeys.list();
    assert.ok(listed.data.some((k) => k.id === made.id && k.prefix === made.prefix));
    assert.ok(!JSON.stringify(listed).includes(made.key));
    await keyway.apiKeys.revoke(made.id);
    await keyway.apiKeys.revoke(made.id); // again: no error
    assert.ok((await keyway.apiKeys.get(made.id)).revokedAt !== null);
    const refused = await app.proxy(conn, 'me').catch((e: unknown) => e);
    assert.ok(refused instanceof KeywayApiError);
    assert.equal(refused.status, 401);
    assert.equal(refused.code, 'unauthorized');
    assert.ok(!refused.message.includes(made.key));
  });

  test('a rate-limited key gets KeywayApiError rate_limited with retryAfter in seconds', async () => {
    const made = await keyway.apiKeys.create({ name: 'slow app', rateLimitPerMinute: 2 });
    const app = new Keyway({ url: t.kw.url, apiKey: made.key });
    await app.integrations.list();
    await app.integrations.list();
    const limited = await app.integrations.list().catch((e: unknown) => e);
    assert.ok(limited instanceof KeywayApiError);
    assert.equal(limited.status, 429);
    assert.equal(limited.code, 'rate_limited');
    assert.ok(typeof limited.retryAfter === 'number' && limited.retryAfter >= 1, String(limited.retryAfter));
  });

  test('wait(): gives up with KeywayWaitTimeout past timeoutMs, and stops when its signal aborts', async () => {
    const s = await keyway.connectSessions.create({ integration });
    const late = await keyway.connectSessions.wait(s.id, { intervalMs: 100, timeoutMs: 300 }).catch((e: unknown) => e);
    assert.ok(late instanceof KeywayWaitTimeout);
    assert.equal(late.session, s.id);
    const ctrl = new AbortController();
    const waiting = keyway.connectSessions.wait(s.id, { intervalMs: 100, signal: ctrl.signal }).catch((e: unknown) => e);
    setTimeout(() => ctrl.abort(), 250);
    const stopped = await waiting;
    assert.ok(stopped instanceof Error);
    assert.equal(stopped.name, 'AbortError');
  });

  test('the API key stays out of what a program prints: the client, its errors, and an unreachable server\'s message', async () => {
    assert.ok(!inspect(keyway, { depth: 5, showHidden: true }).includes(t.apiKey));
    assert.ok(!JSON.stringify(keyway).includes(t.apiKey));
    const port = await freePort(); // nothing listens there
    const gone = new Keyway({ url: `http://127.0.0.1:${port}`, apiKey: t.apiKey });
    const e = await gone.integrations.list().catch((x: unknown) => x);
    assert.ok(e instanceof KeywayUnreachableError);
    assert.match(e.message, /Cannot reach Keyway at http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(!inspect(e, { depth: 5 }).includes(t.apiKey));
    const refused = await keyway.connections.get('conn_x').catch((x: unknown) => x);
    assert.ok(!inspect(refused, { depth: 5 }).includes(t.apiKey));
  });
});
