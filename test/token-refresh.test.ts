import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { SandboxServer } from '../src/sandbox/index.ts';
import { type TestKeyway, addIntegration, connectInBrowser, startProvider, startTestKeyway } from './helpers/keyway.ts';

const MIN = 60_000;

async function connect(t: TestKeyway, provider: SandboxServer, integration: string, username: string): Promise<string> {
  const run = await connectInBrowser(t, provider, integration, { username, session: { externalId: username } });
  assert.match(run.page.text, /Connected!/, run.page.text);
  return (await t.api('GET', `/v1/connections?externalId=${username}`)).body.data[0].id;
}

describe('tokens: refresh-ahead, one refresh at a time, rotation', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let integration: string;
  const refreshes = () => provider.sandbox.stats.tokenRequests['refresh_token'] ?? 0;

  before(async () => {
    provider = await startProvider({ rotateRefreshTokens: true });
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider)).id;
  });
  after(async () => {
    await t.close();
    await provider.close();
  });

  test('a fresh 5-minute token is served without refreshing on every read', async () => {
    const id = await connect(t, provider, integration, 'fresh');
    const start = refreshes();
    const first = await t.api('GET', `/v1/connections/${id}/token`);
    for (let i = 0; i < 10; i++) {
      t.clock.advance(20_000); // 200 s in all: still outside the last 15% of a 300 s lifetime
      const again = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(again.body.accessToken, first.body.accessToken);
    }
    assert.equal(refreshes(), start);
  });

  test('an expiring token is refreshed before it is served, and the old refresh token is dead (rotation)', async () => {
    const id = await connect(t, provider, integration, 'rotating');
    const before = await t.api('GET', `/v1/connections/${id}/token`);
    t.clock.advance(5 * MIN);
    const after = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(after.status, 200);
    assert.notEqual(after.body.accessToken, before.body.accessToken);
    assert.ok(Date.parse(after.body.expiresAt) > t.clock.now());
    const me = await fetch(`${provider.issuer}/api/me`, { headers: { authorization: `Bearer ${after.body.accessToken}` } });
    assert.equal(me.status, 200);
    const conn = await t.api('GET', `/v1/connections/${id}`);
    assert.equal(conn.body.status, 'active');
    assert.ok(conn.body.lastRefreshedAt);
  });

  test('200 concurrent reads of an expired token cause exactly one refresh, and every caller gets the new token', async () => {
    const id = await connect(t, provider, integration, 'concurrent');
    t.clock.advance(6 * MIN);
    const start = refreshes();
    const results = await Promise.all(Array.from({ length: 200 }, () => t.api('GET', `/v1/connections/${id}/token`)));
    assert.equal(refreshes() - start, 1);
    const tokens = new Set(results.map((r) => r.body.accessToken));
    assert.deepEqual(results.map((r) => r.status).filter((s) => s !== 200), []);
    assert.equal(tokens.size, 1);
  });

  test('50 rounds of expire then 200 concurrent reads keep a rotating connection active, one refresh per round', async () => {
    const id = await connect(t, provider, integration, 'rounds');
    const start = refreshes();
    for (let round = 0; round < 50; round++) {
      t.clock.advance(6 * MIN);
      const results = await Promise.all(Array.from({ length: 200 }, () => t.api('GET', `/v1/connections/${id}/token`)));
      const bad = results.filter((r) => r.status !== 200);
      assert.equal(bad.length, 0, `round ${round}: ${JSON.stringify(bad[0]?.body)}`);
      assert.equal(new Set(results.map((r) => r.body.accessToken)).size, 1, `round ${round}`);
    }
    assert.equal(refreshes() - start, 50);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
  });

  test('POST /refresh refreshes at once', async () => {
    const id = await connect(t, provider, integration, 'forced');
    const before = await t.api('GET', `/v1/connections/${id}/token`);
    const start = refreshes();
    const res = await t.api('POST', `/v1/connections/${id}/refresh`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'active');
    assert.equal(refreshes() - start, 1);
    const after = await t.api('GET', `/v1/connections/${id}/token`);
    assert.notEqual(after.body.accessToken, before.body.accessToken);
  });

  test('a revoked grant (invalid_grant) turns the connection needs_reauth with a message to reconnect', async () => {
    const id = await connect(t, provider, integration, 'revoked');
    await provider.sandbox.revokeAccountGrants('revoked');
    t.clock.advance(6 * MIN);
    const res = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('keyway-error'), 'needs_reauth');
    assert.match(res.body.error.message, /Reconnect/);
    const conn = await t.api('GET', `/v1/connections/${id}`);
    assert.equal(conn.body.status, 'needs_reauth');
    assert.match(conn.body.statusReason, /invalid_grant/);
    // It stays red: no further calls to the provider.
    const start = refreshes();
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).status, 409);
    assert.equal(refreshes(), start);
  });
});

describe('tokens: a provider failing transiently', () => {
  let t: TestKeyway;
  let provider: SandboxServer;
  let gate: Server;
  let failing = false;
  /** Changes the provider's JSON answer on its way back (an odd provider), when set. */
  let rewrite: ((body: Record<string, unknown>) => Record<string, unknown>) | null = null;
  let integration: string;

  before(async () => {
    provider = await startProvider({ rotateRefreshTokens: true });
    // A token endpoint in front of the real one that can answer 503, like a provider having a bad minute.
    gate = createServer(async (req, res) => {
      if (failing) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream unavailable');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${provider.issuer}/token`, {
        method: 'POST', body: Buffer.concat(chunks),
        headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' },
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      const answer = Buffer.from(await upstream.arrayBuffer());
      res.end(rewrite && upstream.ok ? JSON.stringify(rewrite(JSON.parse(answer.toString('utf8')) as Record<string, unknown>)) : answer);
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const port = (gate.address() as { port: number }).port;
    t = await startTestKeyway();
    integration = (await addIntegration(t, provider, {
      issuer: undefined, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `http://127.0.0.1:${port}/token`, scopes: ['items:read'],
    })).id;
  });
  after(async () => {
    await t.close();
    await new Promise((r) => gate.close(r));
    await provider.close();
  });

  test('the current token is served while valid; after 3 failures in a row the connection shows refresh_failing; it recovers', async () => {
    const id = await connect(t, provider, integration, 'flaky');
    const original = await t.api('GET', `/v1/connections/${id}/token`);
    failing = true;
    t.clock.advance(4 * MIN + 30_000); // inside the refresh window, not yet expired
    for (let i = 0; i < 3; i++) {
      const res = await t.api('GET', `/v1/connections/${id}/token`);
      assert.equal(res.status, 200);
      assert.equal(res.body.accessToken, original.body.accessToken);
    }
    const amber = await t.api('GET', `/v1/connections/${id}`);
    assert.equal(amber.body.status, 'refresh_failing');
    assert.match(amber.body.statusReason, /unavailable/);

    t.clock.advance(MIN); // now expired
    const down = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('keyway-error'), 'provider_unavailable');
    assert.ok(Number(down.headers.get('retry-after')) > 0);

    failing = false;
    const back = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(back.status, 200);
    assert.notEqual(back.body.accessToken, original.body.accessToken);
    assert.equal((await t.api('GET', `/v1/connections/${id}`)).body.status, 'active');
  });

  test('Refresh now while the provider fails: 503 saying the token was not refreshed, and no refresh audited as done', async () => {
    const id = await connect(t, provider, integration, 'pressed');
    const original = (await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken;
    failing = true;
    try {
      const res = await t.api('POST', `/v1/connections/${id}/refresh`);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'provider_unavailable');
      assert.match(res.body.error.message, /not refreshed.*still used while it is valid/);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    } finally {
      failing = false;
    }
    await t.kw.services.audit.flush();
    const entries = (await t.api('GET', `/v1/audit?action=token.refresh&connection=${id}`)).body.data as Array<{ outcome: string; detail: { requested?: boolean } }>;
    assert.ok(!entries.some((e) => e.outcome === 'ok'), JSON.stringify(entries));
    assert.equal((await t.api('GET', `/v1/connections/${id}/token`)).body.accessToken, original, 'the current token is still served');
  });

  test('a provider\'s absurd expires_in (1e20 s) is read as no expiry: the token is served, the connection listed, the server keeps running', async () => {
    const id = await connect(t, provider, integration, 'forever');
    rewrite = (body) => ({ ...body, expires_in: 1e20, refresh_token_expires_in: 1e20 });
    try {
      const refreshed = await t.api('POST', `/v1/connections/${id}/refresh`);
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    } finally {
      rewrite = null;
    }
    const token = await t.api('GET', `/v1/connections/${id}/token`);
    assert.equal(token.status, 200);
    assert.equal(token.body.expiresAt, null, 'no expiry, rather than a date no clock can hold');
    const listed = await t.api('GET', '/v1/connections');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.data.some((c: { id: string }) => c.id === id));
    assert.equal((await fetch(`${t.kw.url}/healthz`)).status, 200);
  });
});
